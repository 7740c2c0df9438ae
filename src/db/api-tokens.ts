/** Queries on API tokens (stored as SHA-256 of their secret half). */
import { and, desc, eq } from "drizzle-orm";
import type { Db } from "./client.ts";
import { apiTokens } from "./schema.ts";

export type ApiTokenRow = typeof apiTokens.$inferSelect;

export function insertApiToken(db: Db, row: typeof apiTokens.$inferInsert): ApiTokenRow {
  return db.insert(apiTokens).values(row).returning().get();
}

export function findApiToken(db: Db, id: string): ApiTokenRow | undefined {
  return db.select().from(apiTokens).where(eq(apiTokens.id, id)).get();
}

export function listUserApiTokens(db: Db, userId: string): ApiTokenRow[] {
  return db
    .select()
    .from(apiTokens)
    .where(eq(apiTokens.userId, userId))
    .orderBy(desc(apiTokens.createdAt))
    .all();
}

export function markApiTokenUsed(db: Db, id: string, at: number): void {
  db.update(apiTokens).set({ lastUsedAt: at }).where(eq(apiTokens.id, id)).run();
}

/** Revokes one of `userId`'s tokens; false when it is not theirs or does not exist. */
export function deleteUserApiToken(db: Db, userId: string, id: string): boolean {
  return (
    db
      .delete(apiTokens)
      .where(and(eq(apiTokens.id, id), eq(apiTokens.userId, userId)))
      .returning({ id: apiTokens.id })
      .all().length > 0
  );
}
