/** Queries on sessions. Only the SHA-256 of a session's secret is ever stored. */
import { and, desc, eq, gt, lte, ne } from "drizzle-orm";
import type { Db } from "./client.ts";
import { sessions } from "./schema.ts";

export type SessionRow = typeof sessions.$inferSelect;

export function insertSession(db: Db, row: typeof sessions.$inferInsert): SessionRow {
  return db.insert(sessions).values(row).returning().get();
}

export function findSession(db: Db, id: string): SessionRow | undefined {
  return db.select().from(sessions).where(eq(sessions.id, id)).get();
}

export function touchSession(db: Db, id: string, lastSeenAt: number, expiresAt: number): void {
  db.update(sessions).set({ lastSeenAt, expiresAt }).where(eq(sessions.id, id)).run();
}

export function deleteSession(db: Db, id: string): void {
  db.delete(sessions).where(eq(sessions.id, id)).run();
}

/** Deletes one of `userId`'s sessions; false when it is not theirs or does not exist. */
export function deleteUserSession(db: Db, userId: string, id: string): boolean {
  const r = db
    .delete(sessions)
    .where(and(eq(sessions.id, id), eq(sessions.userId, userId)))
    .returning({ id: sessions.id })
    .all();
  return r.length > 0;
}

/** Ends all of a user's sessions, optionally keeping one (the caller's). Returns how many ended. */
export function deleteUserSessions(db: Db, userId: string, exceptId?: string): number {
  const where = exceptId
    ? and(eq(sessions.userId, userId), ne(sessions.id, exceptId))
    : eq(sessions.userId, userId);
  return db.delete(sessions).where(where).returning({ id: sessions.id }).all().length;
}

export function listUserSessions(db: Db, userId: string, now: number): SessionRow[] {
  return db
    .select()
    .from(sessions)
    .where(and(eq(sessions.userId, userId), gt(sessions.expiresAt, now)))
    .orderBy(desc(sessions.lastSeenAt))
    .all();
}

export function deleteExpiredSessions(db: Db, now: number): number {
  return db.delete(sessions).where(lte(sessions.expiresAt, now)).returning({ id: sessions.id }).all().length;
}
