/**
 * Creating accounts and signing in: first-run setup (guarded by a one-time setup token),
 * registration (open, by invite, or closed), password login with rate limits, password change.
 */
import { recordAudit } from "../db/audit.ts";
import type { Db } from "../db/client.ts";
import { consumeOneTimeToken, expireUserTokens, findOneTimeToken } from "../db/one-time-tokens.ts";
import { deleteUserSessions } from "../db/sessions.ts";
import { deleteSetting, getOrInitSetting, getSetting, setSetting } from "../db/settings.ts";
import { countUsers, findUserByEmail, insertUser, type Role, type UserRow, updateUser } from "../db/users.ts";
import { newId } from "../util/ids.ts";
import { type ActionContext, type AuthDeps, inTransaction } from "./deps.ts";
import { AuthFailedError, FieldError, ForbiddenError, RateLimitedError } from "./errors.ts";
import { hashPassword, verifyAgainstDummy, verifyPassword } from "./passwords.ts";
import { passwordProblem } from "./policy.ts";
import { parseDotToken, safeEqual, secretMatches } from "./tokens.ts";

const SETUP_TOKEN_KEY = "auth.setup_token";
const REGISTRATION_KEY = "auth.registration_open";

/**
 * The setup token while no account exists (created on first call, the same for the server log
 * and `backapp setup-token`); null once an account exists, and the stored token is deleted.
 */
export function ensureSetupToken(deps: Pick<AuthDeps, "db" | "clock">): string | null {
  if (countUsers(deps.db) > 0) {
    deleteSetting(deps.db, SETUP_TOKEN_KEY);
    return null;
  }
  const value = getOrInitSetting(deps.db, SETUP_TOKEN_KEY, () => newId(), deps.clock.now());
  return typeof value === "string" ? value : null;
}

export function isRegistrationOpen(db: Db): boolean {
  return getSetting(db, REGISTRATION_KEY) === true;
}

export function setRegistrationOpen(deps: AuthDeps, open: boolean, ctx: ActionContext): void {
  setSetting(deps.db, REGISTRATION_KEY, open, deps.clock.now());
  audit(deps, "settings.registration", { ...ctx, details: { open } });
}

/** Throws RateLimitedError when any key is blocked; counts one attempt against each. */
export function limit(deps: AuthDeps, ...keys: string[]): void {
  let wait = 0;
  for (const key of keys) wait = Math.max(wait, deps.limiter.hit(key));
  if (wait > 0) throw new RateLimitedError(wait);
}

export function audit(
  deps: Pick<AuthDeps, "db" | "clock">,
  action: string,
  entry: ActionContext & { target?: string | null; details?: Record<string, unknown> },
): void {
  recordAudit(deps.db, deps.clock.now(), { action, ...entry });
}

export interface RegisterInput {
  email: string;
  name: string;
  password: string;
  setupToken?: string | undefined;
  invite?: string | undefined;
}

/**
 * Registers an account. The first account needs the setup token and becomes admin; later ones
 * need an invite (whose role they get) or open registration (role user).
 */
export async function register(deps: AuthDeps, input: RegisterInput, ctx: ActionContext): Promise<UserRow> {
  limit(deps, `register:ip:${ctx.ip ?? "?"}`, `register:account:${input.email.trim().toLowerCase()}`);
  // Refuse cheaply before hashing; the transaction below decides for good.
  checkRegistrationAllowed(deps, input);
  const passwordHash = await hashPassword(input.password);
  const now = deps.clock.now();
  return inTransaction(deps, () => {
    const first = checkRegistrationAllowed(deps, input);
    let role: Role = first ? "admin" : "user";
    let via = first ? "setup" : "open";
    if (!first && input.invite) {
      role = useInvite(deps.db, input.invite, now);
      via = "invite";
    }
    const user = insertUser(deps.db, { email: input.email, name: input.name, passwordHash, role });
    if (via === "setup") deleteSetting(deps.db, SETUP_TOKEN_KEY);
    audit(deps, "user.register", {
      ...ctx,
      actor: ctx.actor ?? user,
      target: `user:${user.id}`,
      details: { role, via },
    });
    return user;
  });
}

const CLOSED = "Registration is closed. Ask an administrator for an invite link.";
const BAD_SETUP_TOKEN =
  "The setup token is missing or wrong; see the server log or run `backapp setup-token`.";

/**
 * Throws ForbiddenError (403) when this registration may not happen: the first account without
 * the right setup token, or a later one without an invite while registration is closed. True
 * when this is the first account (it becomes admin). Invites are checked when used.
 */
function checkRegistrationAllowed(deps: AuthDeps, input: RegisterInput): boolean {
  if (countUsers(deps.db) === 0) {
    const expected = ensureSetupToken(deps);
    if (!expected || !input.setupToken || !safeEqual(input.setupToken, expected)) {
      throw new ForbiddenError(BAD_SETUP_TOKEN, { setupToken: BAD_SETUP_TOKEN });
    }
    return true;
  }
  if (!input.invite && !isRegistrationOpen(deps.db)) throw new ForbiddenError(CLOSED);
  return false;
}

function useInvite(db: Db, value: string, now: number): Role {
  const parsed = parseDotToken(value);
  const invite = parsed ? findOneTimeToken(db, "invite", parsed.id) : undefined;
  const valid =
    parsed &&
    invite &&
    secretMatches(parsed.secret, invite.secretHash) &&
    invite.usedAt === null &&
    invite.expiresAt > now;
  if (!valid || !consumeOneTimeToken(db, invite.id, now)) {
    throw new ForbiddenError("This invite link is invalid, used or expired.");
  }
  return invite.role ?? "user";
}

/**
 * Checks email and password, counting the attempt against the IP and the account. Unknown
 * accounts cost the same time and give the same answer as a wrong password.
 */
export async function login(
  deps: AuthDeps,
  input: { email: string; password: string },
  ctx: ActionContext,
): Promise<UserRow> {
  const email = input.email.trim().toLowerCase();
  const user = findUserByEmail(deps.db, email);
  const accountKey = loginAccountKey(email, user);
  const wait = deps.limiter.retryAfter(accountKey);
  if (wait > 0) throw new RateLimitedError(wait);
  limit(deps, `login:ip:${ctx.ip ?? "?"}`);
  const ok = user
    ? await verifyPassword(input.password, user.passwordHash)
    : await verifyAgainstDummy(input.password);
  if (!user || !ok) {
    const blocked = deps.limiter.hit(accountKey);
    audit(deps, "login.failed", { ip: ctx.ip, target: email });
    // The failure that crosses the account's limit already answers 429, as the IP limit does.
    if (blocked > 0) throw new RateLimitedError(blocked);
    throw new AuthFailedError();
  }
  if (user.disabled) {
    audit(deps, "login.failed", { ip: ctx.ip, target: email, details: { reason: "disabled" } });
    throw new AuthFailedError("This account is disabled.");
  }
  // Counted before verifying (bounds parallel guessing); a success is taken back.
  deps.limiter.undo(`login:ip:${ctx.ip ?? "?"}`);
  deps.limiter.reset(accountKey);
  audit(deps, "login.ok", { ip: ctx.ip, actor: user });
  return user;
}

/**
 * The rate-limit key of an account. For an existing account it includes a piece of the password
 * hash, so setting a new password (e.g. `backapp user reset-password` while the server runs) lifts
 * a lock-out at once; unknown addresses are counted by address, and block the same way.
 */
function loginAccountKey(email: string, user: UserRow | undefined): string {
  return user ? `login:account:${user.id}:${user.passwordHash.slice(-16)}` : `login:account:${email}`;
}

/** Sets a new password after checking the current one; ends every session of the user. */
export async function changePassword(
  deps: AuthDeps,
  user: UserRow,
  input: { currentPassword: string; newPassword: string },
  ctx: ActionContext,
): Promise<void> {
  limit(deps, `password:account:${user.id}`);
  if (!(await verifyPassword(input.currentPassword, user.passwordHash))) {
    throw new FieldError({ currentPassword: "The current password is wrong." });
  }
  const problem = passwordProblem(input.newPassword, user.email);
  if (problem) throw new FieldError({ newPassword: problem });
  await setPassword(deps, user, input.newPassword);
  audit(deps, "user.password_changed", { ...ctx, target: `user:${user.id}` });
}

/** Stores a new password hash, ends all sessions and voids pending reset links. */
export async function setPassword(deps: Pick<AuthDeps, "db" | "clock">, user: UserRow, password: string) {
  const passwordHash = await hashPassword(password);
  const now = deps.clock.now();
  inTransaction(deps, () => {
    updateUser(deps.db, user.id, { passwordHash }, now);
    deleteUserSessions(deps.db, user.id);
    expireUserTokens(deps.db, user.id, "password_reset", now);
  });
}

/** Changes name and email; a new email needs the current password (re-authentication). */
export async function updateProfile(
  deps: AuthDeps,
  user: UserRow,
  input: { name: string; email: string; currentPassword?: string | undefined },
  ctx: ActionContext,
): Promise<UserRow> {
  const emailChanged = input.email !== user.email;
  if (emailChanged) {
    limit(deps, `password:account:${user.id}`);
    if (!input.currentPassword || !(await verifyPassword(input.currentPassword, user.passwordHash))) {
      throw new FieldError({ currentPassword: "Enter your current password to change your email." });
    }
  }
  const now = deps.clock.now();
  const updated = inTransaction(deps, () => {
    const row = updateUser(deps.db, user.id, { name: input.name, email: input.email }, now);
    // Reset links mailed to the old address must not outlive it.
    if (row && emailChanged) expireUserTokens(deps.db, user.id, "password_reset", now);
    return row;
  });
  if (!updated) throw new AuthFailedError("Sign in again.");
  audit(deps, "user.profile_changed", {
    ...ctx,
    target: `user:${user.id}`,
    details: { nameChanged: input.name !== user.name, emailChanged },
  });
  return updated;
}
