/** Queries on single-use tokens: password resets and invites. */
import { and, desc, eq, isNull } from "drizzle-orm";
import type { Db } from "./client.ts";
import { oneTimeTokens } from "./schema.ts";

export type OneTimeTokenRow = typeof oneTimeTokens.$inferSelect;
export type OneTimeKind = OneTimeTokenRow["kind"];

export function insertOneTimeToken(db: Db, row: typeof oneTimeTokens.$inferInsert): OneTimeTokenRow {
  return db.insert(oneTimeTokens).values(row).returning().get();
}

export function findOneTimeToken(db: Db, kind: OneTimeKind, id: string): OneTimeTokenRow | undefined {
  return db
    .select()
    .from(oneTimeTokens)
    .where(and(eq(oneTimeTokens.id, id), eq(oneTimeTokens.kind, kind)))
    .get();
}

/**
 * Marks a token used if nobody did before: the UPDATE's WHERE makes it single-use even when two
 * requests race. True when this call consumed it.
 */
export function consumeOneTimeToken(db: Db, id: string, at: number): boolean {
  return (
    db
      .update(oneTimeTokens)
      .set({ usedAt: at })
      .where(and(eq(oneTimeTokens.id, id), isNull(oneTimeTokens.usedAt)))
      .returning({ id: oneTimeTokens.id })
      .all().length > 0
  );
}

/** Unused reset tokens of a user die when a new one is issued or the password changes. */
export function expireUserTokens(db: Db, userId: string, kind: OneTimeKind, at: number): void {
  db.update(oneTimeTokens)
    .set({ usedAt: at })
    .where(and(eq(oneTimeTokens.userId, userId), eq(oneTimeTokens.kind, kind), isNull(oneTimeTokens.usedAt)))
    .run();
}

export function listInvites(db: Db): OneTimeTokenRow[] {
  return db
    .select()
    .from(oneTimeTokens)
    .where(eq(oneTimeTokens.kind, "invite"))
    .orderBy(desc(oneTimeTokens.createdAt))
    .limit(50)
    .all();
}

/** Deletes an invite (revoked by an admin); false when there is none with this id. */
export function deleteInvite(db: Db, id: string): boolean {
  return (
    db
      .delete(oneTimeTokens)
      .where(and(eq(oneTimeTokens.id, id), eq(oneTimeTokens.kind, "invite")))
      .returning({ id: oneTimeTokens.id })
      .all().length > 0
  );
}
