/**
 * Queries over the verification runs in backup_logs: restore drills (kind "drill", per job) and
 * repository checks (kind "check", per destination). Their findings live in `details` (JSON).
 */
import { and, desc, eq, inArray, notInArray, sql } from "drizzle-orm";
import { ACTIVE_STATUSES, type BackupLogRow } from "./backup-logs.ts";
import type { Db } from "./client.ts";
import { backupLogs } from "./schema.ts";

const ENDED = notInArray(backupLogs.status, [...ACTIVE_STATUSES, "cancelled", "missed"]);

/** The newest ended drill of each job (by start time); jobs never drilled are absent. */
export function latestDrillsByConfig(db: Db, configIds: string[]): Map<string, BackupLogRow> {
  const out = new Map<string, BackupLogRow>();
  if (configIds.length === 0) return out;
  const newest = sql`(select l2.id from backup_logs l2 where l2.config_id = ${backupLogs.configId}
    and l2.kind = 'drill' and l2.status not in ('queued', 'running', 'cancelled', 'missed')
    order by l2.start_time desc, l2.id desc limit 1)`;
  const rows = db
    .select()
    .from(backupLogs)
    .where(and(inArray(backupLogs.configId, configIds), eq(backupLogs.id, newest)))
    .all();
  for (const row of rows) if (row.configId) out.set(row.configId, row);
  return out;
}

export type VerifyKind = "check" | "drill";

function keyOf(kind: VerifyKind, id: string) {
  return and(
    eq(backupLogs.kind, kind),
    kind === "drill" ? eq(backupLogs.configId, id) : eq(backupLogs.destinationId, id),
  );
}

/** When the newest check of a destination (or drill of a job) started, counting queued ones; null: never. */
export function lastVerificationAt(db: Db, kind: VerifyKind, id: string): number | null {
  const row = db
    .select({ t: backupLogs.startTime })
    .from(backupLogs)
    .where(and(keyOf(kind, id), notInArray(backupLogs.status, ["cancelled", "missed"])))
    .orderBy(desc(backupLogs.startTime))
    .limit(1)
    .get();
  return row?.t ?? null;
}

/** The check of a destination (or drill of a job) queued or running now, if any. */
export function activeVerification(db: Db, kind: VerifyKind, id: string): BackupLogRow | undefined {
  return db
    .select()
    .from(backupLogs)
    .where(and(keyOf(kind, id), inArray(backupLogs.status, [...ACTIVE_STATUSES])))
    .get();
}

/** The newest ended check of each destination. */
export function latestChecksByDestination(db: Db, destinationIds: string[]): Map<string, BackupLogRow> {
  const out = new Map<string, BackupLogRow>();
  for (const id of destinationIds) {
    const row = db
      .select()
      .from(backupLogs)
      .where(and(keyOf("check", id), ENDED))
      .orderBy(desc(backupLogs.startTime))
      .limit(1)
      .get();
    if (row) out.set(id, row);
  }
  return out;
}
