/**
 * Helpers shared by page and API handlers: validation with the shared zod schemas (field errors
 * become FieldError), rendering a page with the signed-in user and CSRF token, turning auth
 * errors into form re-renders, and the audit context of a request.
 */
import { zValidator } from "@hono/zod-validator";
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { z } from "zod";
import type { ActionContext } from "../auth/deps.ts";
import { AuthFailedError, FieldError, ForbiddenError, RateLimitedError } from "../auth/errors.ts";
import { fieldErrors } from "../auth/schemas.ts";
import { unreadAlertCount } from "../db/alerts.ts";
import { EmailTakenError } from "../db/users.ts";
import type { AppEnv } from "./context.ts";
import { parseFormBody } from "./middleware/body.ts";
import type { Flash, PageData } from "./render.ts";

/** Parses `value` with `schema`; throws FieldError with one message per field. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new FieldError(fieldErrors(result.error));
  return result.data;
}

/** @hono/zod-validator for JSON bodies, reporting problems as FieldError (400 with `fields`). */
export function jsonBody<S extends z.ZodType>(schema: S) {
  return zValidator("json", schema, (result) => {
    if (!result.success) throw new FieldError(fieldErrors(result.error));
  });
}

/** The string fields of a urlencoded or multipart form. */
export async function readForm(c: Context<AppEnv>): Promise<Record<string, string>> {
  const body = await parseFormBody(c);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(body)) if (typeof v === "string") out[k] = v;
  return out;
}

/** A checkbox: present and "on"/"true"/"1". */
export function checkbox(form: Record<string, string>, name: string): boolean {
  return ["on", "true", "1"].includes(form[name] ?? "");
}

export function actionContext(c: Context<AppEnv>): ActionContext {
  const user = c.get("user");
  return { ip: c.get("clientIp"), actor: user ? { id: user.id, email: user.email } : null };
}

/** Renders a page with the current user, CSRF token and flash messages from `?notice=`. */
export function renderPage(
  c: Context<AppEnv>,
  template: string,
  data: PageData,
  status: ContentfulStatusCode = 200,
) {
  const { renderer } = c.get("services");
  const session = c.get("session");
  const flash = [...noticeFlash(c), ...(data.flash ?? [])];
  const user = c.get("user");
  // The nav's badge: one indexed count per page.
  const alertsUnread = user ? unreadAlertCount(c.get("services").db, user.id) : 0;
  const html = renderer.page(
    template,
    { user, csrf: session?.csrfToken ?? null, alertsUnread, ...data, flash },
    c.req.path,
  );
  c.header("Cache-Control", "no-store");
  return c.html(html, status);
}

/** Fixed messages for redirects (`?notice=key`): no user text ever travels in a URL. */
const NOTICES: Record<string, Flash> = {
  "signed-out": { kind: "info", message: "You are signed out." },
  "password-reset": { kind: "success", message: "Your password was changed. Sign in with the new one." },
  "password-changed": { kind: "success", message: "Password changed. Other sessions were signed out." },
  "profile-saved": { kind: "success", message: "Profile saved." },
  "prices-saved": { kind: "success", message: "Prices saved." },
  "sessions-ended": { kind: "success", message: "All other sessions were signed out." },
  "session-ended": { kind: "success", message: "The session was signed out." },
  "token-revoked": { kind: "success", message: "The token was revoked." },
  "user-saved": { kind: "success", message: "User saved." },
  "registration-saved": { kind: "success", message: "Registration setting saved." },
  "invite-revoked": { kind: "success", message: "The invite link was revoked." },
  "smtp-saved": { kind: "success", message: "Email settings saved. Send a test email to check them." },
  "smtp-removed": { kind: "success", message: "Email settings removed." },
  "channel-saved": { kind: "success", message: "Notification channel saved. Send a test to check it." },
  "channel-removed": { kind: "success", message: "Notification channel removed." },
  "notify-settings-saved": { kind: "success", message: "Notification settings saved." },
  "metrics-saved": { kind: "success", message: "Metrics access saved." },
  "runs-saved": { kind: "success", message: "Run settings saved. They apply from the next run." },
  welcome: { kind: "success", message: "Welcome to backapp." },
  "destination-created": {
    kind: "success",
    message: "Destination added. Create a backup job that writes into it.",
  },
  "destination-saved": { kind: "success", message: "Destination saved." },
  "destination-deleted": {
    kind: "success",
    message: "Destination deleted. Its repository and backups were left in place.",
  },
  "config-created": { kind: "success", message: "Backup job created." },
  "config-saved": { kind: "success", message: "Backup job saved." },
  "config-deleted": {
    kind: "success",
    message: "Backup job deleted. Its snapshots stay in the destination.",
  },
  "alert-acknowledged": {
    kind: "success",
    message: "Alert acknowledged. It closes by itself when the problem clears.",
  },
  "alerts-acknowledged": { kind: "success", message: "All open alerts acknowledged." },
};

function noticeFlash(c: Context<AppEnv>): Flash[] {
  const key = c.req.query("notice");
  const flash = key && Object.hasOwn(NOTICES, key) ? NOTICES[key] : undefined;
  return flash ? [flash] : [];
}

/**
 * Maps an expected failure of a form action to a status and field errors (sets Retry-After on
 * 429); anything unexpected is rethrown for the error handler.
 */
export function formFailure(
  c: Context<AppEnv>,
  error: unknown,
): { status: ContentfulStatusCode; errors: Record<string, string> } {
  if (error instanceof RateLimitedError) {
    c.header("Retry-After", String(error.retryAfter));
    return { status: 429, errors: { form: error.message } };
  }
  if (error instanceof EmailTakenError) return { status: 409, errors: { email: error.message } };
  if (error instanceof FieldError) return { status: 400, errors: error.fields };
  if (error instanceof AuthFailedError) return { status: 401, errors: { form: error.message } };
  if (error instanceof ForbiddenError) {
    return { status: 403, errors: error.fields ? { ...error.fields } : { form: error.message } };
  }
  throw error;
}

/** Form values safe to echo back (never passwords or tokens). */
export function echo(form: Record<string, string>, ...names: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of names) if (form[n] !== undefined) out[n] = form[n];
  return out;
}
