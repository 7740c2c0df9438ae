/**
 * Aggregates over backup runs for reports and storage estimates: per job (runs, outcomes, data
 * added, durations) in a time range, and per destination the last 30 days' activity.
 */
import { and, eq, gte, inArray, lt, sql } from "drizzle-orm";
import type { Db } from "./client.ts";
import { backupLogs } from "./schema.ts";

export interface JobRunTotals {
  configId: string;
  runs: number;
  successes: number;
  partial: number;
  failures: number;
  /** Bytes uploaded (new data after dedup and compression). */
  bytesAdded: number;
  /** Bytes read from the sources. */
  bytesProcessed: number;
  durationMs: number;
}

/** Backup runs that ended, per job, started in [from, to). Jobs without runs are absent. */
export function jobRunTotals(
  db: Db,
  configIds: string[],
  from: number,
  to: number,
): Map<string, JobRunTotals> {
  const out = new Map<string, JobRunTotals>();
  if (configIds.length === 0) return out;
  const rows = db
    .select({
      configId: backupLogs.configId,
      runs: sql<number>`count(*)`,
      successes: sql<number>`sum(case when ${backupLogs.status} = 'completed' then 1 else 0 end)`,
      partial: sql<number>`sum(case when ${backupLogs.status} = 'partial' then 1 else 0 end)`,
      failures: sql<number>`sum(case when ${backupLogs.status} in ('failed', 'missed') then 1 else 0 end)`,
      bytesAdded: sql<number>`coalesce(sum(${backupLogs.bytesTransferred}), 0)`,
      bytesProcessed: sql<number>`coalesce(sum(${backupLogs.totalBytes}), 0)`,
      durationMs: sql<number>`coalesce(sum(${backupLogs.durationMs}), 0)`,
    })
    .from(backupLogs)
    .where(
      and(
        inArray(backupLogs.configId, configIds),
        eq(backupLogs.kind, "backup"),
        inArray(backupLogs.status, ["completed", "partial", "failed", "missed"]),
        gte(backupLogs.startTime, from),
        lt(backupLogs.startTime, to),
      ),
    )
    .groupBy(backupLogs.configId)
    .all();
  for (const r of rows) if (r.configId) out.set(r.configId, { ...r, configId: r.configId });
  return out;
}

/** Bytes each job has uploaded over its whole life (an upper bound of what it stores: prune frees some). */
export function jobBytesStored(db: Db, configIds: string[]): Map<string, number> {
  const out = new Map<string, number>();
  if (configIds.length === 0) return out;
  const rows = db
    .select({
      configId: backupLogs.configId,
      bytes: sql<number>`coalesce(sum(${backupLogs.bytesTransferred}), 0)`,
    })
    .from(backupLogs)
    .where(and(inArray(backupLogs.configId, configIds), eq(backupLogs.kind, "backup")))
    .groupBy(backupLogs.configId)
    .all();
  for (const r of rows) if (r.configId) out.set(r.configId, r.bytes);
  return out;
}

/** Backup runs and uploaded bytes into a destination since `from`. */
export function destinationActivity(db: Db, destinationId: string, from: number) {
  const row = db
    .select({
      runs: sql<number>`count(*)`,
      bytesUploaded: sql<number>`coalesce(sum(${backupLogs.bytesTransferred}), 0)`,
    })
    .from(backupLogs)
    .where(
      and(
        eq(backupLogs.destinationId, destinationId),
        eq(backupLogs.kind, "backup"),
        gte(backupLogs.startTime, from),
      ),
    )
    .get();
  return { runs: row?.runs ?? 0, bytesUploaded: row?.bytesUploaded ?? 0 };
}
