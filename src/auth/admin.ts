/**
 * What admins do to accounts: create, change role, disable (ending sessions at once), set allowed
 * roots, invite. The last enabled admin can be neither demoted nor disabled.
 */
import { deleteInvite, insertOneTimeToken, listInvites } from "../db/one-time-tokens.ts";
import { deleteUserSessions } from "../db/sessions.ts";
import {
  allowedRootsOf,
  countActiveAdmins,
  findUserById,
  insertUser,
  type Role,
  type UserPatch,
  type UserRow,
  updateUser,
} from "../db/users.ts";
import { NotFoundError } from "../util/errors.ts";
import { audit, ensureSetupToken } from "./accounts.ts";
import { type ActionContext, type AuthDeps, inTransaction } from "./deps.ts";
import { ForbiddenError } from "./errors.ts";
import { hashPassword } from "./passwords.ts";
import { formatDotToken, newSplitToken } from "./tokens.ts";

export interface AdminUserPatch {
  role?: Role | undefined;
  disabled?: boolean | undefined;
  allowedRoots?: string[] | undefined;
  name?: string | undefined;
}

export function adminUpdateUser(
  deps: AuthDeps,
  userId: string,
  patch: AdminUserPatch,
  ctx: ActionContext,
): UserRow {
  return inTransaction(deps, () => {
    const user = findUserById(deps.db, userId);
    if (!user) throw new NotFoundError("user not found");
    const demotes = patch.role === "user" && user.role === "admin";
    const disables = patch.disabled === true && !user.disabled;
    if ((demotes || disables) && user.role === "admin" && !user.disabled && countActiveAdmins(deps.db) <= 1) {
      throw new ForbiddenError("The last administrator can be neither demoted nor disabled.");
    }
    const values = changedValues(user, patch);
    if (Object.keys(values).length === 0) return user;
    const updated = updateUser(deps.db, user.id, values, deps.clock.now()) ?? user;
    if (disables) deleteUserSessions(deps.db, user.id);
    const changes: Record<string, unknown> = {};
    for (const key of Object.keys(values) as (keyof UserPatch)[]) {
      changes[key] = { from: key === "allowedRoots" ? allowedRootsOf(user) : user[key], to: values[key] };
    }
    audit(deps, "user.updated", { ...ctx, target: `user:${user.id}`, details: changes });
    if (values.role) {
      audit(deps, "user.role_changed", {
        ...ctx,
        target: `user:${user.id}`,
        details: changes.role as Record<string, unknown>,
      });
    }
    return updated;
  });
}

/** Only what `patch` actually changes (so the audit log says what happened, not what was sent). */
function changedValues(user: UserRow, patch: AdminUserPatch): UserPatch {
  const values: UserPatch = {};
  if (patch.role !== undefined && patch.role !== user.role) values.role = patch.role;
  if (patch.disabled !== undefined && patch.disabled !== user.disabled) values.disabled = patch.disabled;
  if (patch.name !== undefined && patch.name !== user.name) values.name = patch.name;
  if (patch.allowedRoots !== undefined) {
    const roots = [...new Set(patch.allowedRoots)];
    if (JSON.stringify(roots) !== JSON.stringify(allowedRootsOf(user))) values.allowedRoots = roots;
  }
  return values;
}

/** Creates an account directly (admin page, API, or `backapp user add`). The first one is admin. */
export async function adminCreateUser(
  deps: Pick<AuthDeps, "db" | "clock">,
  input: { email: string; name: string; password: string; role: Role; allowedRoots?: string[] | undefined },
  ctx: ActionContext,
): Promise<UserRow> {
  const passwordHash = await hashPassword(input.password);
  const { password: _plain, allowedRoots = [], ...rest } = input;
  return inTransaction(deps, () => {
    const user = insertUser(deps.db, { ...rest, passwordHash, allowedRoots });
    ensureSetupToken(deps);
    const details = { role: input.role, allowedRoots };
    audit(deps, "user.created", { ...ctx, target: `user:${user.id}`, details });
    return user;
  });
}

export const INVITE_DEFAULT_HOURS = 72;

/** A single-use invite link token for a new account with `role`. */
export function createInvite(
  deps: AuthDeps,
  input: { role: Role; expiresInHours: number },
  ctx: ActionContext & { actor: { id: string; email: string } },
): { token: string; expiresAt: number } {
  const now = deps.clock.now();
  const t = newSplitToken();
  const expiresAt = now + input.expiresInHours * 3600_000;
  insertOneTimeToken(deps.db, {
    id: t.id,
    kind: "invite",
    secretHash: t.secretHash,
    userId: ctx.actor.id,
    role: input.role,
    expiresAt,
    createdAt: now,
  });
  audit(deps, "invite.created", {
    ...ctx,
    target: `invite:${t.id}`,
    details: { role: input.role, expiresAt },
  });
  return { token: formatDotToken(t), expiresAt };
}

export interface InviteSummary {
  id: string;
  role: Role;
  createdAt: number;
  expiresAt: number;
  status: "pending" | "used" | "expired";
}

export function inviteSummaries(deps: Pick<AuthDeps, "db" | "clock">): InviteSummary[] {
  const now = deps.clock.now();
  return listInvites(deps.db).map((i) => ({
    id: i.id,
    role: i.role ?? "user",
    createdAt: i.createdAt,
    expiresAt: i.expiresAt,
    status: i.usedAt !== null ? "used" : i.expiresAt <= now ? "expired" : "pending",
  }));
}

/** Revokes an invite link (pending or not): it stops working at once. NotFoundError if unknown. */
export function revokeInvite(deps: Pick<AuthDeps, "db" | "clock">, id: string, ctx: ActionContext): void {
  if (!deleteInvite(deps.db, id)) throw new NotFoundError("invite not found");
  audit(deps, "invite.revoked", { ...ctx, target: `invite:${id}` });
}
