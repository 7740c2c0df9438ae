/**
 * Queries on notification channels and their delivery log. Every read and write of a channel is
 * scoped to its owner (another user's id is simply not found). Sealing and unsealing of webhook
 * URLs and secrets happens in src/notify/channels.ts, not here.
 */
import { and, desc, eq, lt } from "drizzle-orm";
import type { Db } from "./client.ts";
import { notificationChannels, notificationDeliveries } from "./schema.ts";

export type ChannelRow = typeof notificationChannels.$inferSelect;
export type ChannelInsert = typeof notificationChannels.$inferInsert;
export type DeliveryRow = typeof notificationDeliveries.$inferSelect;

export function insertChannel(db: Db, row: ChannelInsert): ChannelRow {
  return db.insert(notificationChannels).values(row).returning().get();
}

export function findUserChannel(db: Db, userId: string, id: string): ChannelRow | undefined {
  return db
    .select()
    .from(notificationChannels)
    .where(and(eq(notificationChannels.id, id), eq(notificationChannels.userId, userId)))
    .get();
}

export function listUserChannels(db: Db, userId: string): ChannelRow[] {
  return db
    .select()
    .from(notificationChannels)
    .where(eq(notificationChannels.userId, userId))
    .orderBy(notificationChannels.createdAt, notificationChannels.id)
    .all();
}

/** Updates one of `userId`'s channels; undefined when it is not theirs or does not exist. */
export function updateUserChannel(
  db: Db,
  userId: string,
  id: string,
  changes: Partial<Omit<ChannelInsert, "id" | "userId">>,
): ChannelRow | undefined {
  return db
    .update(notificationChannels)
    .set(changes)
    .where(and(eq(notificationChannels.id, id), eq(notificationChannels.userId, userId)))
    .returning()
    .get();
}

/** Deletes one of `userId`'s channels (its deliveries go with it); false when not theirs. */
export function deleteUserChannel(db: Db, userId: string, id: string): boolean {
  return (
    db
      .delete(notificationChannels)
      .where(and(eq(notificationChannels.id, id), eq(notificationChannels.userId, userId)))
      .returning({ id: notificationChannels.id })
      .all().length > 0
  );
}

export function insertDelivery(db: Db, row: typeof notificationDeliveries.$inferInsert): void {
  db.insert(notificationDeliveries).values(row).run();
}

/** The user's latest delivery attempts, newest first, optionally of one channel. */
export function listUserDeliveries(
  db: Db,
  userId: string,
  options: { channelId?: string; limit?: number } = {},
): DeliveryRow[] {
  const where = options.channelId
    ? and(eq(notificationDeliveries.userId, userId), eq(notificationDeliveries.channelId, options.channelId))
    : eq(notificationDeliveries.userId, userId);
  return db
    .select()
    .from(notificationDeliveries)
    .where(where)
    .orderBy(desc(notificationDeliveries.at), desc(notificationDeliveries.attempt))
    .limit(options.limit ?? 50)
    .all();
}

/** Forgets delivery attempts older than `before` (ms): the log is for recent troubleshooting. */
export function pruneDeliveries(db: Db, before: number): void {
  db.delete(notificationDeliveries).where(lt(notificationDeliveries.at, before)).run();
}
