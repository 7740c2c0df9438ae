/**
 * Cross-site request forgery defence for unsafe methods (POST, PUT, PATCH, DELETE):
 * 1. same origin: an Origin header must equal the server's origin (as the request shows it, or
 *    the configured public URL's); without Origin, a Sec-Fetch-Site header must be same-origin
 *    (or none: typed URL); requests with neither come from non-browser clients, which cannot
 *    ride a victim's cookies anyway (and the token below still binds cookie-authenticated ones);
 * 2. cookie-authenticated requests must also carry the session's CSRF token, in the form field
 *    `_csrf` or the `X-CSRF-Token` header (forms and htmx).
 * Bearer-token requests are exempt: a browser never attaches those by itself.
 */
import type { Context, MiddlewareHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { safeEqual } from "../../auth/tokens.ts";
import type { AppEnv } from "../context.ts";
import { parseFormBody } from "./body.ts";
import { requestOrigin } from "./client.ts";

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);
export const CSRF_FIELD = "_csrf";
export const CSRF_HEADER = "x-csrf-token";

function forbidden(message: string): never {
  throw new HTTPException(403, { message });
}

/** The request's own origin, or the configured public URL's (a proxy may rewrite Host). */
function isOwnOrigin(c: Context<AppEnv>, origin: string): boolean {
  if (origin === requestOrigin(c)) return true;
  try {
    return origin === new URL(c.get("services").security.publicUrl).origin;
  } catch {
    return false;
  }
}

function sameOrigin(c: Context<AppEnv>): boolean {
  const origin = c.req.header("origin");
  if (origin !== undefined) return isOwnOrigin(c, origin);
  const site = c.req.header("sec-fetch-site");
  return site === undefined || site === "same-origin" || site === "none";
}

async function submittedToken(c: Context<AppEnv>): Promise<string | undefined> {
  const header = c.req.header(CSRF_HEADER);
  if (header) return header;
  const type = c.req.header("content-type") ?? "";
  if (/^(application\/x-www-form-urlencoded|multipart\/form-data)/i.test(type)) {
    const body = await parseFormBody(c);
    const value = body[CSRF_FIELD];
    return typeof value === "string" ? value : undefined;
  }
  return undefined;
}

export function csrfProtection(): MiddlewareHandler<AppEnv> {
  return async function csrfHandler(c, next) {
    if (SAFE.has(c.req.method) || c.get("authVia") === "token") return next();
    if (!sameOrigin(c)) forbidden("Cross-site request refused.");
    const session = c.get("session");
    if (session) {
      const token = await submittedToken(c);
      if (!token || !safeEqual(token, session.csrfToken)) {
        forbidden("The form expired or came from elsewhere. Reload the page and try again.");
      }
    }
    await next();
  };
}
