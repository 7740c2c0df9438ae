/**
 * JSON API for accounts: /api/auth/{register,login,logout,session,forgot-password,reset-password}.
 * Sign-in answers set the same session cookie the pages use; scripts should prefer API tokens.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { login, register } from "../../auth/accounts.ts";
import { resetPassword } from "../../auth/recovery.ts";
import { forgotSchema, loginSchema, registerSchema, resetSchema } from "../../auth/schemas.ts";
import { deleteSession, type SessionRow } from "../../db/sessions.ts";
import { toPublicUser, type UserRow } from "../../db/users.ts";
import type { AppEnv } from "../context.ts";
import { errorResponse } from "../errors.ts";
import { actionContext, jsonBody } from "../forms.ts";
import { mailEnabled } from "../mail.ts";
import { clearSessionCookie, signIn } from "../middleware/auth.ts";
import { authDeps } from "./auth-pages.ts";
import { sendResetMail } from "./recovery-pages.ts";

/** `{user:{id,email,name,role}, expiresAt}`; expiresAt is null for an API token. */
function sessionBody(user: UserRow, session: SessionRow | null) {
  return {
    user: toPublicUser(user),
    expiresAt: session ? new Date(session.expiresAt).toISOString() : null,
  };
}

/** Sign-in answers also carry the new session's CSRF token, for scripts that keep the cookie. */
function signedInBody(user: UserRow, session: SessionRow) {
  return { ...sessionBody(user, session), csrfToken: session.csrfToken };
}

export function authApiRoutes() {
  const app = new Hono<AppEnv>();

  app.post("/api/auth/register", jsonBody(registerSchema), async (c) => {
    const user = await register(authDeps(c), c.req.valid("json"), actionContext(c));
    const { session } = signIn(c, user.id);
    return c.json(signedInBody(user, session), 201);
  });

  app.post("/api/auth/login", jsonBody(loginSchema), async (c) => {
    const user = await login(authDeps(c), c.req.valid("json"), actionContext(c));
    const { session } = signIn(c, user.id);
    return c.json(signedInBody(user, session));
  });

  app.post("/api/auth/logout", (c) => {
    const session = c.get("session");
    if (session) deleteSession(c.get("services").db, session.id);
    clearSessionCookie(c);
    return c.body(null, 204);
  });

  app.get("/api/auth/session", (c: Context<AppEnv>) => {
    const user = c.get("user");
    c.header("Cache-Control", "no-store");
    if (!user) return errorResponse(c, 401, "Not signed in.");
    const session = c.get("session");
    // The CSRF token travels in a header, so the body is exactly the documented shape.
    if (session) c.header("X-CSRF-Token", session.csrfToken);
    return c.json(sessionBody(user, session));
  });

  app.post("/api/auth/forgot-password", jsonBody(forgotSchema), async (c) => {
    await sendResetMail(c, c.req.valid("json").email);
    return c.json({ ok: true, mailEnabled: mailEnabled(c) }, 202);
  });

  app.post("/api/auth/reset-password", jsonBody(resetSchema), async (c) => {
    await resetPassword(authDeps(c), c.req.valid("json"), actionContext(c));
    return c.body(null, 204);
  });

  return app;
}
