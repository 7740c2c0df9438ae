/** Admin JSON API: /api/users, /api/invites, /api/settings/registration, /api/audit. */
import type { Context } from "hono";
import { Hono } from "hono";
import { isRegistrationOpen, setRegistrationOpen } from "../../auth/accounts.ts";
import {
  adminCreateUser,
  adminUpdateUser,
  createInvite,
  inviteSummaries,
  revokeInvite,
} from "../../auth/admin.ts";
import { ForbiddenError } from "../../auth/errors.ts";
import { adminResetLink, RESET_TTL_MS } from "../../auth/recovery.ts";
import {
  inviteCreateSchema,
  registrationSettingSchema,
  userCreateSchema,
  userUpdateSchema,
} from "../../auth/schemas.ts";
import { type AuditRow, listAudit } from "../../db/audit.ts";
import { allowedRootsOf, findUserById, listUsers, toPublicUser, type UserRow } from "../../db/users.ts";
import { NotFoundError } from "../../util/errors.ts";
import type { AppEnv } from "../context.ts";
import { actionContext, jsonBody } from "../forms.ts";
import { requireAdmin } from "../middleware/guards.ts";
import { authDeps } from "./auth-pages.ts";
import { resetLink } from "./recovery-pages.ts";

function userJson(u: UserRow) {
  return {
    ...toPublicUser(u),
    disabled: u.disabled,
    allowedRoots: allowedRootsOf(u),
    createdAt: new Date(u.createdAt).toISOString(),
  };
}

function auditJson(a: AuditRow) {
  let details: unknown = {};
  try {
    details = JSON.parse(a.details);
  } catch {
    // keep {}
  }
  return { ...a, at: new Date(a.at).toISOString(), details };
}

function actor(c: Context<AppEnv>) {
  const user = c.get("user");
  if (!user) throw new NotFoundError("not signed in");
  return { id: user.id, email: user.email };
}

export function adminApiRoutes() {
  const app = new Hono<AppEnv>();
  for (const path of [
    "/api/users",
    "/api/users/*",
    "/api/invites",
    "/api/invites/*",
    "/api/settings/registration",
    "/api/audit",
  ]) {
    app.use(path, requireAdmin());
  }

  app.get("/api/users", (c) => c.json({ users: listUsers(c.get("services").db).map(userJson) }));

  app.post("/api/users", jsonBody(userCreateSchema), async (c) => {
    const user = await adminCreateUser(c.get("services"), c.req.valid("json"), actionContext(c));
    return c.json({ user: userJson(user) }, 201);
  });

  app.get("/api/users/:id", (c) => {
    const user = findUserById(c.get("services").db, c.req.param("id"));
    if (!user) throw new NotFoundError("user not found");
    return c.json({ user: userJson(user) });
  });

  app.patch("/api/users/:id", jsonBody(userUpdateSchema), (c) => {
    const id = c.req.param("id");
    const patch = c.req.valid("json");
    if (patch.disabled && id === actor(c).id)
      throw new ForbiddenError("You cannot disable your own account.");
    const user = adminUpdateUser(authDeps(c), id, patch, actionContext(c));
    return c.json({ user: userJson(user) });
  });

  app.post("/api/users/:id/reset-link", (c) => {
    const issued = adminResetLink(authDeps(c), c.req.param("id"), actionContext(c));
    if (!issued) throw new NotFoundError("user not found");
    const expiresAt = new Date(c.get("services").clock.now() + RESET_TTL_MS).toISOString();
    return c.json({ url: resetLink(c, issued.token), expiresAt }, 201);
  });

  app.get("/api/invites", (c) => {
    const invites = inviteSummaries(c.get("services")).map((i) => ({
      ...i,
      createdAt: new Date(i.createdAt).toISOString(),
      expiresAt: new Date(i.expiresAt).toISOString(),
    }));
    return c.json({ invites });
  });

  app.post("/api/invites", jsonBody(inviteCreateSchema), (c) => {
    const created = createInvite(authDeps(c), c.req.valid("json"), { ...actionContext(c), actor: actor(c) });
    const url = `${c.get("services").security.publicUrl}/register?invite=${encodeURIComponent(created.token)}`;
    return c.json({ url, token: created.token, expiresAt: new Date(created.expiresAt).toISOString() }, 201);
  });

  app.delete("/api/invites/:id", (c) => {
    revokeInvite(c.get("services"), c.req.param("id"), actionContext(c));
    return c.body(null, 204);
  });

  app.get("/api/settings/registration", (c) => c.json({ open: isRegistrationOpen(c.get("services").db) }));

  app.put("/api/settings/registration", jsonBody(registrationSettingSchema), (c) => {
    const { open } = c.req.valid("json");
    setRegistrationOpen(authDeps(c), open, actionContext(c));
    return c.json({ open });
  });

  app.get("/api/audit", (c) => {
    const before = Date.parse(c.req.query("before") ?? "");
    const limit = Number(c.req.query("limit") ?? "100");
    const entries = listAudit(c.get("services").db, {
      limit: Number.isFinite(limit) ? limit : 100,
      ...(Number.isFinite(before) ? { before } : {}),
    });
    return c.json({ entries: entries.map(auditJson) });
  });

  return app;
}
