/**
 * Authentication: an `Authorization: Bearer bk_…` API token, or the session cookie. Sets `user`,
 * `session` and `authVia`; refuses nothing itself (the guards in guards.ts do). A session whose
 * expiry slid forward gets its cookie re-sent with the new lifetime.
 *
 * Bearer tokens count only on the JSON API, and not on the sign-in endpoints that set cookies
 * (/api/auth/* except GET /api/auth/session): a token never turns into a browser session, and
 * pages never act on one. Elsewhere the header is ignored and the cookie decides.
 */
import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { validateApiToken } from "../../auth/api-tokens.ts";
import { createSession, validateSession } from "../../auth/sessions.ts";
import { deleteExpiredSessions, deleteSession } from "../../db/sessions.ts";
import type { AppEnv } from "../context.ts";
import { isApiPath } from "../errors.ts";
import { isSecureRequest } from "./client.ts";

export const SESSION_COOKIE = "backapp_session";
export const SECURE_SESSION_COOKIE = "__Host-backapp_session";

export function authenticate(): MiddlewareHandler<AppEnv> {
  return async function authenticateHandler(c, next) {
    c.set("user", null);
    c.set("session", null);
    c.set("authVia", null);
    const { db, clock } = c.get("services");
    const authorization = c.req.header("authorization");
    if (authorization?.toLowerCase().startsWith("bearer ") && bearerAllowed(c)) {
      const found = validateApiToken({ db, clock }, authorization.slice(7).trim());
      if (found) {
        c.set("user", found.user);
        c.set("authVia", "token");
      }
      return next();
    }
    const token = readSessionCookie(c);
    if (token) {
      const found = validateSession({ db, clock }, token);
      if (found) {
        c.set("user", found.user);
        c.set("session", found.session);
        c.set("authVia", "session");
        await next();
        // Not after sign-out or sign-in, which set the cookie themselves.
        const replaced = c.res.headers.getSetCookie().some((h) => h.includes("backapp_session="));
        if (found.renewed && !replaced) setSessionCookie(c, token, found.session.expiresAt);
        return;
      }
    }
    await next();
  };
}

/** Where an API token may authenticate: the JSON API, minus the cookie-setting auth endpoints. */
function bearerAllowed(c: Context<AppEnv>): boolean {
  const path = c.req.path;
  if (!isApiPath(path)) return false;
  if (path.startsWith("/api/auth/")) return path === "/api/auth/session" && c.req.method === "GET";
  return true;
}

/**
 * The session token. Over HTTPS only the __Host- cookie counts: a plain-named cookie could have
 * been planted by a sibling subdomain or over http (cookie tossing), fixing a session on us.
 */
export function readSessionCookie(c: Context<AppEnv>): string | undefined {
  if (isSecureRequest(c)) return getCookie(c, SESSION_COOKIE, "host");
  return getCookie(c, SESSION_COOKIE);
}

/** HttpOnly, SameSite=Lax, Path=/; Secure with the __Host- prefix over HTTPS. */
export function setSessionCookie(c: Context<AppEnv>, token: string, expiresAt: number): void {
  const maxAge = Math.max(0, Math.floor((expiresAt - c.get("services").clock.now()) / 1000));
  const base = { path: "/", httpOnly: true, sameSite: "Lax" as const, maxAge };
  if (isSecureRequest(c)) setCookie(c, SESSION_COOKIE, token, { ...base, secure: true, prefix: "host" });
  else setCookie(c, SESSION_COOKIE, token, base);
}

export function clearSessionCookie(c: Context<AppEnv>): void {
  if (isSecureRequest(c)) deleteCookie(c, SESSION_COOKIE, { path: "/", secure: true, prefix: "host" });
  deleteCookie(c, SESSION_COOKIE, { path: "/" });
}

/**
 * Starts a fresh session for `userId` (a new token at every sign-in) and sets its cookie. The
 * session the browser came with, if any, is deleted: a sign-in never keeps an old token alive.
 */
export function signIn(c: Context<AppEnv>, userId: string) {
  const { db, clock } = c.get("services");
  const previous = c.get("session");
  if (previous) deleteSession(db, previous.id);
  // Sign-ins are rare enough to sweep expired sessions here instead of on a timer.
  deleteExpiredSessions(db, clock.now());
  const created = createSession({ db, clock }, userId, {
    ip: c.get("clientIp"),
    userAgent: c.req.header("user-agent") ?? null,
  });
  setSessionCookie(c, created.token, created.session.expiresAt);
  return created;
}
