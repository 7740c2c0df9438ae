/**
 * Alert rows: one open row per ongoing problem, keyed by kind + job + destination. Seeing the
 * same problem again bumps its occurrences and lastSeenAt instead of adding a row; when the
 * problem goes away (say the job's next run succeeds) the row is resolved. Acknowledgement,
 * pages and notifications belong to the monitoring issue.
 */
import { and, desc, eq, isNull, type SQL } from "drizzle-orm";
import { newId } from "../util/ids.ts";
import type { Db } from "./client.ts";
import { alerts } from "./schema.ts";

export type AlertRow = typeof alerts.$inferSelect;

export type AlertKind =
  | "failed_run"
  | "unreadable_files"
  | "missed_schedule"
  | "interrupted_run"
  | "destination_unreachable"
  | "retention_failed";

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
