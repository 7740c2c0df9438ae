/**
 * Password reset: a single-use "<id>.<secret>" token valid for one hour, stored hashed. Using it
 * sets a new password and ends all of the user's sessions. Requesting one never reveals whether
 * the account exists.
 */
import {
  consumeOneTimeToken,
  expireUserTokens,
  findOneTimeToken,
  insertOneTimeToken,
} from "../db/one-time-tokens.ts";
import { findUserByEmail, findUserById, type UserRow } from "../db/users.ts";
import { audit, limit, setPassword } from "./accounts.ts";
import { type ActionContext, type AuthDeps, inTransaction } from "./deps.ts";
import { FieldError, ForbiddenError } from "./errors.ts";
import { passwordProblem } from "./policy.ts";
import { formatDotToken, newSplitToken, parseDotToken, secretMatches } from "./tokens.ts";

export const RESET_TTL_MS = 3600_000;

/** Issues a reset token for `user`, voiding earlier ones. */
export function issueResetToken(deps: Pick<AuthDeps, "db" | "clock">, user: UserRow): string {
  const now = deps.clock.now();
  const t = newSplitToken();
  inTransaction(deps, () => {
    expireUserTokens(deps.db, user.id, "password_reset", now);
    insertOneTimeToken(deps.db, {
      id: t.id,
      kind: "password_reset",
      secretHash: t.secretHash,
      userId: user.id,
      expiresAt: now + RESET_TTL_MS,
      createdAt: now,
    });
  });
  return formatDotToken(t);
}

/**
 * For /forgot-password: a token and its user when the account exists and is enabled, else null.
 * Rate limited per IP and per email address.
 */
export function requestPasswordReset(
  deps: AuthDeps,
  email: string,
  ctx: ActionContext,
): { user: UserRow; token: string } | null {
  const address = email.trim().toLowerCase();
  limit(deps, `reset:ip:${ctx.ip ?? "?"}`, `reset:account:${address}`);
  const user = findUserByEmail(deps.db, address);
  audit(deps, "password_reset.requested", { ip: ctx.ip, target: address, details: { known: Boolean(user) } });
  if (!user || user.disabled) return null;
  return { user, token: issueResetToken(deps, user) };
}

/** An admin generates a reset link for a user (when no SMTP is configured). */
export function adminResetLink(
  deps: AuthDeps,
  userId: string,
  ctx: ActionContext,
): { user: UserRow; token: string } | null {
  const user = findUserById(deps.db, userId);
  if (!user) return null;
  // The link would not work (disabled accounts cannot reset); say so instead of handing it out.
  if (user.disabled)
    throw new ForbiddenError("This account is disabled; enable it before creating a reset link.");
  audit(deps, "password_reset.link_created", { ...ctx, target: `user:${user.id}` });
  return { user, token: issueResetToken(deps, user) };
}

/** Whether a reset token is currently usable (for showing the form or an error page). */
export function checkResetToken(
  deps: Pick<AuthDeps, "db" | "clock">,
  value: string | undefined,
): UserRow | null {
  const parsed = parseDotToken(value);
  if (!parsed) return null;
  const row = findOneTimeToken(deps.db, "password_reset", parsed.id);
  if (!row || row.usedAt !== null || row.expiresAt <= deps.clock.now()) return null;
  if (!secretMatches(parsed.secret, row.secretHash)) return null;
  const user = findUserById(deps.db, row.userId);
  return user && !user.disabled ? user : null;
}

const INVALID = "This reset link is invalid, used or expired. Ask for a new one.";

/** Uses a reset token once: new password, all sessions ended. */
export async function resetPassword(
  deps: AuthDeps,
  input: { token: string; password: string },
  ctx: ActionContext,
): Promise<UserRow> {
  limit(deps, `reset:ip:${ctx.ip ?? "?"}`);
  const user = checkResetToken(deps, input.token);
  if (!user) throw new FieldError({ token: INVALID });
  const problem = passwordProblem(input.password, user.email);
  if (problem) throw new FieldError({ password: problem });
  const parsed = parseDotToken(input.token);
  if (!parsed || !consumeOneTimeToken(deps.db, parsed.id, deps.clock.now())) {
    throw new FieldError({ token: INVALID });
  }
  await setPassword(deps, user, input.password);
  audit(deps, "password_reset.completed", { ip: ctx.ip, actor: user, target: `user:${user.id}` });
  return user;
}
