/**
 * Alert rows: one open row per ongoing problem, keyed by kind + job + destination. Seeing the
 * same problem again bumps its occurrences and lastSeenAt instead of adding a row; when the
 * problem goes away (say the job's next run succeeds) the row is resolved. Lists page by
 * (timestamp, id) keyset cursors, never OFFSET; the nav's unread count uses alerts_user_ack_idx.
 */
import { and, count, desc, eq, isNotNull, isNull, lt, or, type SQL } from "drizzle-orm";
import { newId } from "../util/ids.ts";
import type { Db } from "./client.ts";
import { alerts } from "./schema.ts";

export type AlertRow = typeof alerts.$inferSelect;

/** The kinds of issue 9, plus issue 10's restore_failed (the notification events share them: src/notify/notifier.ts). */
export type AlertKind =
  | "failed_run"
  | "unreadable_files"
  | "missed_schedule"
  | "interrupted"
  | "no_recent_success"
  | "destination_unreachable"
  | "check_failed"
  | "restore_failed";

export interface AlertKey {
  kind: AlertKind;
  configId?: string | null;
  destinationId?: string | null;
}

export interface RaiseAlert extends AlertKey {
  userId: string;
  type: AlertRow["type"];
  message: string;
  logId?: string | null;
}

function keyWhere(key: AlertKey): SQL | undefined {
  return and(
    eq(alerts.kind, key.kind),
    key.configId ? eq(alerts.configId, key.configId) : isNull(alerts.configId),
    key.destinationId ? eq(alerts.destinationId, key.destinationId) : isNull(alerts.destinationId),
    isNull(alerts.resolvedAt),
  );
}

/** The open row of this problem, if any. */
export function findOpenAlert(db: Db, key: AlertKey): AlertRow | undefined {
  return db.select().from(alerts).where(keyWhere(key)).get();
}

/** Opens the problem's row, or bumps the open one. `created` says which. */
export function raiseAlert(db: Db, now: number, input: RaiseAlert): { row: AlertRow; created: boolean } {
  return db.transaction((tx) => {
    const open = tx.select().from(alerts).where(keyWhere(input)).get();
    if (open) {
      const row = tx
        .update(alerts)
        .set({
          lastSeenAt: now,
          occurrences: open.occurrences + 1,
          message: input.message,
          logId: input.logId ?? open.logId,
        })
        .where(eq(alerts.id, open.id))
        .returning()
        .get();
      return { row, created: false };
    }
    const row = tx
      .insert(alerts)
      .values({
        id: newId(),
        userId: input.userId,
        configId: input.configId ?? null,
        destinationId: input.destinationId ?? null,
        logId: input.logId ?? null,
        type: input.type,
        kind: input.kind,
        message: input.message,
        timestamp: now,
        lastSeenAt: now,
      })
      .returning()
      .get();
    return { row, created: true };
  });
}

/** Resolves the open row of this problem, if any; returns the resolved rows. */
export function resolveAlerts(db: Db, now: number, key: AlertKey): AlertRow[] {
  return db.update(alerts).set({ resolvedAt: now }).where(keyWhere(key)).returning().all();
}

/** Open (unresolved) alerts, newest first. */
export function listOpenAlerts(db: Db, filter: { userId?: string; configId?: string } = {}): AlertRow[] {
  return db
    .select()
    .from(alerts)
    .where(
      and(
        isNull(alerts.resolvedAt),
        filter.userId ? eq(alerts.userId, filter.userId) : undefined,
        filter.configId ? eq(alerts.configId, filter.configId) : undefined,
      ),
    )
    .orderBy(desc(alerts.timestamp))
    .all();
}

/** open: unresolved and not acknowledged; acknowledged: unresolved and acknowledged; resolved. */
export type AlertStatus = "open" | "acknowledged" | "resolved";

export interface AlertQuery {
  /** Absent: every alert of the user (admins: `userId` absent means everyone's). */
  userId?: string;
  status?: AlertStatus;
  limit?: number;
  cursor?: string | null;
}

function statusWhere(status: AlertStatus | undefined): SQL | undefined {
  if (status === "resolved") return isNotNull(alerts.resolvedAt);
  if (status === "open") return and(isNull(alerts.resolvedAt), eq(alerts.acknowledged, false));
  if (status === "acknowledged") return and(isNull(alerts.resolvedAt), eq(alerts.acknowledged, true));
  return undefined;
}

function encode(row: AlertRow): string {
  return Buffer.from(`${row.timestamp}:${row.id}`).toString("base64url");
}

function decode(cursor: string): { timestamp: number; id: string } | null {
  const m = /^(\d{1,16}):([a-z0-9]{1,64})$/.exec(Buffer.from(cursor, "base64url").toString("utf8"));
  return m ? { timestamp: Number(m[1]), id: m[2] as string } : null;
}

/** Alerts newest first, one page at a time; a malformed cursor reads as the first page. */
export function listAlerts(db: Db, query: AlertQuery): { items: AlertRow[]; nextCursor: string | null } {
  const limit = Math.min(Math.max(query.limit ?? 50, 1), 200);
  const after = query.cursor ? decode(query.cursor) : null;
  const rows = db
    .select()
    .from(alerts)
    .where(
      and(
        query.userId ? eq(alerts.userId, query.userId) : undefined,
        statusWhere(query.status),
        after
          ? or(
              lt(alerts.timestamp, after.timestamp),
              and(eq(alerts.timestamp, after.timestamp), lt(alerts.id, after.id)),
            )
          : undefined,
      ),
    )
    .orderBy(desc(alerts.timestamp), desc(alerts.id))
    .limit(limit + 1)
    .all();
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last ? encode(last) : null };
}

export function findAlert(db: Db, id: string): AlertRow | undefined {
  return db.select().from(alerts).where(eq(alerts.id, id)).get();
}

export function acknowledgeAlert(db: Db, id: string): AlertRow | undefined {
  return db.update(alerts).set({ acknowledged: true }).where(eq(alerts.id, id)).returning().get();
}

/** Acknowledges every unresolved alert of the user; returns how many changed. */
export function acknowledgeAllAlerts(db: Db, userId: string): number {
  return db
    .update(alerts)
    .set({ acknowledged: true })
    .where(and(eq(alerts.userId, userId), eq(alerts.acknowledged, false), isNull(alerts.resolvedAt)))
    .returning({ id: alerts.id })
    .all().length;
}

/** Unresolved, unacknowledged alerts of a user (the nav's badge): one indexed count. */
export function unreadAlertCount(db: Db, userId: string): number {
  const row = db
    .select({ n: count() })
    .from(alerts)
    .where(and(eq(alerts.userId, userId), eq(alerts.acknowledged, false), isNull(alerts.resolvedAt)))
    .get();
  return row?.n ?? 0;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The Alert JSON shape of issue 9 (also the `alert` of webhook payloads). */
export function alertJson(row: AlertRow) {
  return {
    id: row.id,
    type: row.type,
    kind: row.kind,
    configId: row.configId,
    message: row.message,
    timestamp: new Date(row.timestamp).toISOString(),
    lastSeen: iso(row.lastSeenAt),
    count: row.occurrences,
    acknowledged: row.acknowledged,
    resolvedAt: iso(row.resolvedAt),
  };
}
