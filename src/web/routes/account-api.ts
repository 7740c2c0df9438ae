/** JSON API for the signed-in account: /api/profile, /api/sessions, /api/tokens. */
import type { Context } from "hono";
import { Hono } from "hono";
import { audit, changePassword, updateProfile } from "../../auth/accounts.ts";
import { createApiToken } from "../../auth/api-tokens.ts";
import { changePasswordSchema, profileSchema, tokenCreateSchema } from "../../auth/schemas.ts";
import { type ApiTokenRow, deleteUserApiToken, listUserApiTokens } from "../../db/api-tokens.ts";
import { deleteUserSession, deleteUserSessions, listUserSessions } from "../../db/sessions.ts";
import { allowedRootsOf, toPublicUser } from "../../db/users.ts";
import { NotFoundError } from "../../util/errors.ts";
import type { AppEnv } from "../context.ts";
import { actionContext, jsonBody } from "../forms.ts";
import { clearSessionCookie, signIn } from "../middleware/auth.ts";
import { requireUser } from "../middleware/guards.ts";
import { authDeps } from "./auth-pages.ts";

type Ctx = Context<AppEnv>;

function me(c: Ctx) {
  const user = c.get("user");
  if (!user) throw new NotFoundError("not signed in");
  return user;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function tokenJson(t: ApiTokenRow) {
  return { id: t.id, name: t.name, createdAt: iso(t.createdAt), lastUsedAt: iso(t.lastUsedAt) };
}

export function accountApiRoutes() {
  const app = new Hono<AppEnv>();
  for (const path of [
    "/api/profile",
    "/api/profile/*",
    "/api/sessions",
    "/api/sessions/*",
    "/api/tokens",
    "/api/tokens/*",
  ]) {
    app.use(path, requireUser());
  }

  app.get("/api/profile", (c) => {
    const user = me(c);
    return c.json({ user: toPublicUser(user), allowedRoots: allowedRootsOf(user) });
  });

  app.patch("/api/profile", jsonBody(profileSchema), async (c) => {
    const updated = await updateProfile(authDeps(c), me(c), c.req.valid("json"), actionContext(c));
    return c.json({ user: toPublicUser(updated) });
  });

  app.post("/api/profile/password", jsonBody(changePasswordSchema), async (c) => {
    await changePassword(authDeps(c), me(c), c.req.valid("json"), actionContext(c));
    if (c.get("authVia") === "session") signIn(c, me(c).id);
    return c.body(null, 204);
  });

  app.get("/api/sessions", (c) => {
    const { db, clock } = c.get("services");
    const current = c.get("session")?.id;
    const sessions = listUserSessions(db, me(c).id, clock.now()).map((s) => ({
      id: s.id,
      current: s.id === current,
      ip: s.ip,
      userAgent: s.userAgent,
      createdAt: iso(s.createdAt),
      lastSeenAt: iso(s.lastSeenAt),
      expiresAt: iso(s.expiresAt),
    }));
    return c.json({ sessions });
  });

  app.delete("/api/sessions", (c) => {
    const user = me(c);
    const ended = deleteUserSessions(c.get("services").db, user.id);
    audit(c.get("services"), "session.revoked_all", { ...actionContext(c), target: `user:${user.id}` });
    clearSessionCookie(c);
    return c.json({ ended });
  });

  app.delete("/api/sessions/:id", (c) => {
    const user = me(c);
    const id = c.req.param("id");
    if (!deleteUserSession(c.get("services").db, user.id, id)) throw new NotFoundError("session not found");
    audit(c.get("services"), "session.revoked", { ...actionContext(c), target: `user:${user.id}` });
    if (id === c.get("session")?.id) clearSessionCookie(c);
    return c.body(null, 204);
  });

  app.get("/api/tokens", (c) =>
    c.json({ tokens: listUserApiTokens(c.get("services").db, me(c).id).map(tokenJson) }),
  );

  app.post("/api/tokens", jsonBody(tokenCreateSchema), (c) => {
    const { name } = c.req.valid("json");
    const created = createApiToken(c.get("services"), me(c).id, name);
    audit(c.get("services"), "token.created", {
      ...actionContext(c),
      target: `token:${created.row.id}`,
      details: { name },
    });
    return c.json({ ...tokenJson(created.row), token: created.token }, 201);
  });

  app.delete("/api/tokens/:id", (c) => {
    const id = c.req.param("id");
    if (!deleteUserApiToken(c.get("services").db, me(c).id, id)) throw new NotFoundError("token not found");
    audit(c.get("services"), "token.revoked", { ...actionContext(c), target: `token:${id}` });
    return c.body(null, 204);
  });

  return app;
}
