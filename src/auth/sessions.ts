/**
 * Sessions: a token "<id>.<secret>" in a cookie, of which the database keeps only the id and the
 * SHA-256 of the secret. Expiry slides: 30 days, renewed when half of that is used, never past an
 * absolute limit of 90 days from sign-in. A disabled user's sessions stop validating at once.
 */

import type { Db } from "../db/client.ts";
import { deleteSession, findSession, insertSession, type SessionRow, touchSession } from "../db/sessions.ts";
import { findUserById, type UserRow } from "../db/users.ts";
import type { Clock } from "../util/clock.ts";
import { newId } from "../util/ids.ts";
import { formatDotToken, newSplitToken, parseDotToken, secretMatches } from "./tokens.ts";

export const SESSION_TTL_MS = 30 * 24 * 3600_000;
export const SESSION_ABSOLUTE_MS = 90 * 24 * 3600_000;
/** lastSeenAt is written at most this often, so reads don't each cost a write. */
const TOUCH_INTERVAL_MS = 60_000;

export interface SessionDeps {
  db: Db;
  clock: Clock;
}

export interface ValidSession {
  session: SessionRow;
  user: UserRow;
  /** True when this validation slid the expiry forward (the cookie should be re-sent). */
  renewed: boolean;
}

export function createSession(
  deps: SessionDeps,
  userId: string,
  meta: { ip?: string | null; userAgent?: string | null } = {},
): { token: string; session: SessionRow } {
  const now = deps.clock.now();
  const t = newSplitToken();
  const session = insertSession(deps.db, {
    id: t.id,
    secretHash: t.secretHash,
    userId,
    csrfToken: newId(),
    ip: meta.ip ?? null,
    userAgent: meta.userAgent?.slice(0, 300) ?? null,
    createdAt: now,
    lastSeenAt: now,
    expiresAt: now + SESSION_TTL_MS,
  });
  return { token: formatDotToken(t), session };
}

/** The session and its user for a cookie value, or null (malformed, wrong, expired, disabled). */
export function validateSession(deps: SessionDeps, token: string | undefined): ValidSession | null {
  const parsed = parseDotToken(token);
  if (!parsed) return null;
  const session = findSession(deps.db, parsed.id);
  if (!session || !secretMatches(parsed.secret, session.secretHash)) return null;
  const now = deps.clock.now();
  const hardEnd = session.createdAt + SESSION_ABSOLUTE_MS;
  if (session.expiresAt <= now || hardEnd <= now) {
    deleteSession(deps.db, session.id);
    return null;
  }
  const user = findUserById(deps.db, session.userId);
  if (!user || user.disabled) return null;
  const renew = session.expiresAt - now < SESSION_TTL_MS / 2;
  if (renew || now - session.lastSeenAt >= TOUCH_INTERVAL_MS) {
    const expiresAt = renew ? Math.min(now + SESSION_TTL_MS, hardEnd) : session.expiresAt;
    touchSession(deps.db, session.id, now, expiresAt);
    session.lastSeenAt = now;
    session.expiresAt = expiresAt;
  }
  return { session, user, renewed: renew };
}
