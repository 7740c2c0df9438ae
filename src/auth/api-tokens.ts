/** API tokens for scripts and the CLI: "bk_<id>_<secret>", shown once, stored as SHA-256. */

import { type ApiTokenRow, findApiToken, insertApiToken, markApiTokenUsed } from "../db/api-tokens.ts";
import type { Db } from "../db/client.ts";
import { findUserById, type UserRow } from "../db/users.ts";
import type { Clock } from "../util/clock.ts";
import { formatApiToken, newSplitToken, parseApiToken, secretMatches } from "./tokens.ts";

/** last_used_at is written at most this often. */
const USE_INTERVAL_MS = 60_000;

export function createApiToken(
  deps: { db: Db; clock: Clock },
  userId: string,
  name: string,
): { token: string; row: ApiTokenRow } {
  const t = newSplitToken();
  const row = insertApiToken(deps.db, {
    id: t.id,
    userId,
    name,
    secretHash: t.secretHash,
    createdAt: deps.clock.now(),
  });
  return { token: formatApiToken(t), row };
}

/** The token's row and user for an Authorization header value, or null. */
export function validateApiToken(
  deps: { db: Db; clock: Clock },
  value: string | undefined,
): { token: ApiTokenRow; user: UserRow } | null {
  const parsed = parseApiToken(value);
  if (!parsed) return null;
  const token = findApiToken(deps.db, parsed.id);
  if (!token || !secretMatches(parsed.secret, token.secretHash)) return null;
  const user = findUserById(deps.db, token.userId);
  if (!user || user.disabled) return null;
  const now = deps.clock.now();
  if (token.lastUsedAt === null || now - token.lastUsedAt >= USE_INTERVAL_MS) {
    markApiTokenUsed(deps.db, token.id, now);
    token.lastUsedAt = now;
  }
  return { token, user };
}
