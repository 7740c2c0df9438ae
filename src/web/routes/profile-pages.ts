/** /settings/profile: name and email, password, active sessions, API tokens. */
import type { Context } from "hono";
import { Hono } from "hono";
import { audit, changePassword, updateProfile } from "../../auth/accounts.ts";
import { createApiToken } from "../../auth/api-tokens.ts";
import { changePasswordSchema, profileSchema, tokenCreateSchema } from "../../auth/schemas.ts";
import { deleteUserApiToken, listUserApiTokens } from "../../db/api-tokens.ts";
import { deleteUserSession, deleteUserSessions, listUserSessions } from "../../db/sessions.ts";
import { allowedRootsOf } from "../../db/users.ts";
import { NotFoundError } from "../../util/errors.ts";
import type { AppEnv } from "../context.ts";
import { actionContext, echo, formFailure, parseWith, readForm, renderPage } from "../forms.ts";
import { clearSessionCookie, signIn } from "../middleware/auth.ts";
import { requireUser } from "../middleware/guards.ts";
import { authDeps } from "./auth-pages.ts";

type Ctx = Context<AppEnv>;

function me(c: Ctx) {
  const user = c.get("user");
  if (!user) throw new NotFoundError("not signed in");
  return user;
}

function renderProfile(
  c: Ctx,
  extra: Record<string, unknown> = {},
  status: Parameters<typeof renderPage>[3] = 200,
) {
  const user = me(c);
  const { db, clock } = c.get("services");
  const current = c.get("session")?.id;
  const sessions = listUserSessions(db, user.id, clock.now()).map((s) => ({
    ...s,
    current: s.id === current,
  }));
  const tokens = listUserApiTokens(db, user.id);
  return renderPage(
    c,
    "profile",
    {
      title: "Profile",
      values: { name: user.name, email: user.email },
      role: user.role,
      roots: allowedRootsOf(user),
      sessions,
      tokens,
      ...extra,
    },
    status,
  );
}

export function profilePageRoutes() {
  const app = new Hono<AppEnv>();
  app.use("/settings/*", requireUser());

  app.get("/settings/profile", (c) => renderProfile(c));

  app.post("/settings/profile", async (c) => {
    const form = await readForm(c);
    try {
      const input = parseWith(profileSchema, form);
      await updateProfile(authDeps(c), me(c), input, actionContext(c));
      return c.redirect("/settings/profile?notice=profile-saved", 303);
    } catch (error) {
      const { status, errors } = formFailure(c, error);
      return renderProfile(c, { profileErrors: errors, values: echo(form, "name", "email") }, status);
    }
  });

  app.post("/settings/password", async (c) => {
    const form = await readForm(c);
    try {
      const input = parseWith(changePasswordSchema, form);
      await changePassword(authDeps(c), me(c), input, actionContext(c));
      signIn(c, me(c).id);
      return c.redirect("/settings/profile?notice=password-changed", 303);
    } catch (error) {
      const { status, errors } = formFailure(c, error);
      return renderProfile(c, { passwordErrors: errors }, status);
    }
  });

  app.post("/settings/sessions/revoke-all", (c) => {
    const user = me(c);
    deleteUserSessions(c.get("services").db, user.id);
    audit(c.get("services"), "session.revoked_all", { ...actionContext(c), target: `user:${user.id}` });
    clearSessionCookie(c);
    return c.redirect("/login?notice=signed-out", 303);
  });

  app.post("/settings/sessions/:id/revoke", (c) => {
    const user = me(c);
    if (!deleteUserSession(c.get("services").db, user.id, c.req.param("id")))
      throw new NotFoundError("session not found");
    audit(c.get("services"), "session.revoked", { ...actionContext(c), target: `user:${user.id}` });
    return c.redirect("/settings/profile?notice=session-ended", 303);
  });

  app.post("/settings/tokens", async (c) => {
    const form = await readForm(c);
    try {
      const { name } = parseWith(tokenCreateSchema, form);
      const created = createApiToken(c.get("services"), me(c).id, name);
      audit(c.get("services"), "token.created", {
        ...actionContext(c),
        target: `token:${created.row.id}`,
        details: { name },
      });
      return renderProfile(c, { newToken: { name, token: created.token } }, 201);
    } catch (error) {
      const { status, errors } = formFailure(c, error);
      return renderProfile(c, { tokenErrors: errors }, status);
    }
  });

  app.post("/settings/tokens/:id/revoke", (c) => {
    const user = me(c);
    const id = c.req.param("id");
    if (!deleteUserApiToken(c.get("services").db, user.id, id)) throw new NotFoundError("token not found");
    audit(c.get("services"), "token.revoked", { ...actionContext(c), target: `token:${id}` });
    return c.redirect("/settings/profile?notice=token-revoked", 303);
  });

  return app;
}
