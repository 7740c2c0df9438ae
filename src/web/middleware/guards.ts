/**
 * Per-route access guards. Pages: no account yet → /setup; not signed in → /login?next=…;
 * JSON API: 401. Admin-only routes answer 404 to non-admins, like any id that isn't theirs.
 */
import type { Context, MiddlewareHandler } from "hono";
import { countUsers } from "../../db/users.ts";
import type { AppEnv } from "../context.ts";
import { errorResponse, isApiPath } from "../errors.ts";

const setupDone = new WeakSet<object>();

/** True once any account exists (cached per database once true: accounts are never deleted). */
export function hasAccounts(c: Context<AppEnv>): boolean {
  const { db } = c.get("services");
  if (setupDone.has(db)) return true;
  if (countUsers(db) === 0) return false;
  setupDone.add(db);
  return true;
}

/** A local path to return to after sign-in, or "/" (no other hosts, no "//evil", no "/\\evil"). */
export function safeNext(value: string | undefined | null): string {
  if (!value?.startsWith("/") || value.startsWith("//") || value.startsWith("/\\")) return "/";
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we refuse
  if (/[\u0000-\u001f\\]/.test(value) || value.length > 2000) return "/";
  return value;
}

/**
 * While no account exists every page leads to /setup, unknown addresses included: a redirect for
 * page GETs (not the API, not static files), else null.
 */
export function setupRedirect(c: Context<AppEnv>): Response | null {
  const page = (c.req.method === "GET" || c.req.method === "HEAD") && !isApiPath(c.req.path);
  if (!page || c.req.path.startsWith("/static/") || hasAccounts(c)) return null;
  return c.redirect("/setup", 303);
}

/** Page routes that make sense only once an account exists (sign-in, recovery). */
export function requireAccounts(): MiddlewareHandler<AppEnv> {
  return async function requireAccountsHandler(c, next) {
    if (!hasAccounts(c)) return c.redirect("/setup", 303);
    await next();
  };
}

function unauthenticated(c: Context<AppEnv>) {
  if (isApiPath(c.req.path)) return errorResponse(c, 401, "Sign in or send an API token.");
  if (!hasAccounts(c)) return c.redirect("/setup", 303);
  const url = new URL(c.req.url);
  const next = url.pathname + url.search;
  return c.redirect(next === "/" ? "/login" : `/login?next=${encodeURIComponent(next)}`, 303);
}

export function requireUser(): MiddlewareHandler<AppEnv> {
  return async function requireUserHandler(c, next) {
    if (!c.get("user")) return unauthenticated(c);
    await next();
  };
}

export function requireAdmin(): MiddlewareHandler<AppEnv> {
  return async function requireAdminHandler(c, next) {
    const user = c.get("user");
    if (!user) return unauthenticated(c);
    if (user.role !== "admin") return errorResponse(c, 404, "There is nothing at this address.");
    await next();
  };
}
