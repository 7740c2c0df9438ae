/** /admin/users (accounts, roles, allowed roots, invites, registration) and /admin/audit. */
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
import { adminResetLink } from "../../auth/recovery.ts";
import { inviteCreateSchema, userCreateSchema, userUpdateSchema } from "../../auth/schemas.ts";
import { listAudit } from "../../db/audit.ts";
import { allowedRootsOf, listUsers } from "../../db/users.ts";
import { NotFoundError } from "../../util/errors.ts";
import type { AppEnv } from "../context.ts";
import { actionContext, checkbox, echo, formFailure, parseWith, readForm, renderPage } from "../forms.ts";
import { mailEnabled } from "../mail.ts";
import { requireAdmin } from "../middleware/guards.ts";
import { authDeps } from "./auth-pages.ts";
import { resetLink } from "./recovery-pages.ts";

type Ctx = Context<AppEnv>;

function renderUsers(
  c: Ctx,
  extra: Record<string, unknown> = {},
  status: Parameters<typeof renderPage>[3] = 200,
) {
  const { db } = c.get("services");
  const users = listUsers(db).map((u) => ({
    id: u.id,
    email: u.email,
    name: u.name,
    role: u.role,
    disabled: u.disabled,
    roots: allowedRootsOf(u).join("\n"),
    self: u.id === c.get("user")?.id,
  }));
  const data = {
    title: "Users",
    users,
    invites: inviteSummaries(c.get("services")),
    registrationOpen: isRegistrationOpen(db),
    mailEnabled: mailEnabled(c),
    ...extra,
  };
  return renderPage(c, "admin-users", data, status);
}

/** One absolute path per line in the allowed-roots textarea. */
export function rootsFromText(text: string | undefined): string[] {
  return (text ?? "")
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
}

export function adminPageRoutes() {
  const app = new Hono<AppEnv>();
  app.use("/admin/*", requireAdmin());

  app.get("/admin/users", (c) => renderUsers(c));

  app.post("/admin/users", async (c) => {
    const form = await readForm(c);
    try {
      const input = parseWith(userCreateSchema, { ...form, allowedRoots: rootsFromText(form.allowedRoots) });
      await adminCreateUser(c.get("services"), input, actionContext(c));
      return c.redirect("/admin/users?notice=user-saved", 303);
    } catch (error) {
      const { status, errors } = formFailure(c, error);
      return renderUsers(
        c,
        { createErrors: errors, createValues: echo(form, "email", "name", "role", "allowedRoots") },
        status,
      );
    }
  });

  app.post("/admin/users/:id", async (c) => {
    const form = await readForm(c);
    const id = c.req.param("id");
    try {
      const patch = parseWith(userUpdateSchema, {
        role: form.role,
        disabled: checkbox(form, "disabled"),
        allowedRoots: rootsFromText(form.allowedRoots),
      });
      if (patch.disabled && id === c.get("user")?.id)
        throw new ForbiddenError("You cannot disable your own account.");
      adminUpdateUser(authDeps(c), id, patch, actionContext(c));
      return c.redirect("/admin/users?notice=user-saved", 303);
    } catch (error) {
      if (error instanceof NotFoundError) throw error;
      const { status, errors } = formFailure(c, error);
      return renderUsers(c, { userErrors: { id, ...errors } }, status);
    }
  });

  app.post("/admin/users/:id/reset-link", (c) => {
    const issued = adminResetLink(authDeps(c), c.req.param("id"), actionContext(c));
    if (!issued) throw new NotFoundError("user not found");
    return renderUsers(c, { resetFor: { email: issued.user.email, url: resetLink(c, issued.token) } });
  });

  app.post("/admin/invites", async (c) => {
    const form = await readForm(c);
    const input = parseWith(inviteCreateSchema, {
      role: form.role || undefined,
      expiresInHours: form.expiresInHours || undefined,
    });
    const user = c.get("user");
    if (!user) throw new NotFoundError("not signed in");
    const created = createInvite(authDeps(c), input, {
      ...actionContext(c),
      actor: { id: user.id, email: user.email },
    });
    const url = `${c.get("services").security.publicUrl}/register?invite=${encodeURIComponent(created.token)}`;
    return renderUsers(c, { newInvite: { url, role: input.role, expiresAt: created.expiresAt } }, 201);
  });

  app.post("/admin/invites/:id/revoke", (c) => {
    revokeInvite(c.get("services"), c.req.param("id"), actionContext(c));
    return c.redirect("/admin/users?notice=invite-revoked", 303);
  });

  app.post("/admin/registration", async (c) => {
    const form = await readForm(c);
    setRegistrationOpen(authDeps(c), checkbox(form, "open"), actionContext(c));
    return c.redirect("/admin/users?notice=registration-saved", 303);
  });

  app.get("/admin/audit", (c) => {
    const before = Number(c.req.query("before"));
    const entries = listAudit(c.get("services").db, { limit: 100, ...(before > 0 ? { before } : {}) });
    const last = entries.at(-1);
    // Show "user:<id>" targets by email; deleted or unknown ids stay as they are.
    const emails = new Map(listUsers(c.get("services").db).map((u) => [`user:${u.id}`, u.email]));
    const rows = entries.map((e) => ({ ...e, target: (e.target && emails.get(e.target)) ?? e.target }));
    return renderPage(c, "admin-audit", {
      title: "Audit log",
      entries: rows,
      nextBefore: entries.length === 100 ? last?.at : null,
    });
  });

  return app;
}
