/**
 * Read-side queries of the dashboard and `GET /api/metrics` (src/db/metrics.ts is the
 * Prometheus one). Every query is bounded by user and time range and walks an index of
 * backup_logs: (user_id, start_time) for totals, (config_id, start_time) per job.
 */
import { and, desc, eq, gte, inArray, isNotNull, type SQL, sql } from "drizzle-orm";
import type { BackupLogRow } from "./backup-logs.ts";
import type { Db } from "./client.ts";
import { backupLogs } from "./schema.ts";

const SUCCESS = ["completed", "partial"] as const;
/** Runs that ended: the rate and averages count only these (queued/running/missed are not runs yet). */
const FINISHED = ["completed", "partial", "failed", "cancelled"] as const;

/**
 * End time of each job's last successful run (absent: none): per job and success status one seek
 * down (config_id, status, start_time), so 100,000 runs cost what 100 do.
 */
export function lastSuccessByConfig(db: Db, configIds: string[]): Map<string, number> {
  const out = new Map<string, number>();
  const latest = db
    .select({ at: backupLogs.endTime })
    .from(backupLogs)
    .where(
      and(
        eq(backupLogs.configId, sql.placeholder("configId")),
        eq(backupLogs.status, sql.placeholder("status")),
      ),
    )
    .orderBy(desc(backupLogs.startTime))
    .limit(1)
    .prepare();
  for (const configId of configIds) {
    for (const status of SUCCESS) {
      const at = latest.get({ configId, status })?.at;
      if (at !== null && at !== undefined && at > (out.get(configId) ?? -1)) out.set(configId, at);
    }
  }
  return out;
}

/** The newest run of each job (by start time): one index seek per job on (config_id, start_time). */
export function latestRunByConfig(db: Db, configIds: string[]): Map<string, BackupLogRow> {
  const out = new Map<string, BackupLogRow>();
  const latest = db
    .select()
    .from(backupLogs)
    .where(eq(backupLogs.configId, sql.placeholder("configId")))
    // No id tie-break: it would sort every run of the job instead of reading the index's last entry.
    .orderBy(desc(backupLogs.startTime))
    .limit(1)
    .prepare();
  for (const configId of configIds) {
    const row = latest.get({ configId });
    if (row) out.set(configId, row);
  }
  return out;
}

export interface PeriodTotals {
  runs: number;
  succeeded: number;
  /** Mean duration of finished runs in ms, or null without one. */
  averageDurationMs: number | null;
  bytesAdded: number;
  lastBackupAt: number | null;
}

/** The aggregate columns of PeriodTotals, over the finished backup runs a query selects. */
const totalsColumns = {
  runs: sql<number>`count(*)`,
  succeeded: sql<number>`sum(case when ${backupLogs.status} in ('completed','partial') then 1 else 0 end)`,
  avg: sql<number | null>`avg(${backupLogs.durationMs})`,
  bytes: sql<number | null>`sum(${backupLogs.bytesTransferred})`,
  last: sql<
    number | null
  >`max(case when ${backupLogs.status} in ('completed','partial') then ${backupLogs.endTime} end)`,
};

type TotalsRow = { [K in keyof typeof totalsColumns]: number | null } | undefined;

function toTotals(row: TotalsRow): PeriodTotals {
  const avg = row?.avg ?? null;
  const last = row?.last ?? null;
  return {
    runs: Number(row?.runs ?? 0),
    succeeded: Number(row?.succeeded ?? 0),
    averageDurationMs: avg === null ? null : Math.round(Number(avg)),
    bytesAdded: Number(row?.bytes ?? 0),
    lastBackupAt: last === null ? null : Number(last),
  };
}

/** Finished backup runs started since `from`, narrowed by `scope`. */
function finishedSince(scope: SQL | undefined, from: number) {
  return and(
    scope,
    gte(backupLogs.startTime, from),
    inArray(backupLogs.status, [...FINISHED]),
    eq(backupLogs.kind, "backup"),
  );
}

/** Totals of one user's runs (all users when `userId` is null) started since `from`. */
export function periodTotals(db: Db, userId: string | null, from: number): PeriodTotals {
  const scope = userId ? eq(backupLogs.userId, userId) : undefined;
  return toTotals(db.select(totalsColumns).from(backupLogs).where(finishedSince(scope, from)).get());
}

export interface JobTotals extends PeriodTotals {
  configId: string;
}

/** The same totals per job of the given ids. */
export function jobTotals(db: Db, configIds: string[], from: number): Map<string, JobTotals> {
  const out = new Map<string, JobTotals>();
  if (configIds.length === 0) return out;
  const rows = db
    .select({ configId: backupLogs.configId, ...totalsColumns })
    .from(backupLogs)
    .where(finishedSince(inArray(backupLogs.configId, configIds), from))
    .groupBy(backupLogs.configId)
    .all();
  for (const { configId, ...r } of rows) if (configId) out.set(configId, { configId, ...toTotals(r) });
  return out;
}

export interface DayPoint {
  configId: string;
  /** Start of the UTC day, ms. */
  day: number;
  bytesAdded: number;
  /** Mean duration of the day's finished runs, ms. */
  averageDurationMs: number;
  runs: number;
}

const DAY_MS = 86_400_000;

/** Per job and UTC day since `from`: bytes added and mean duration of finished runs (for charts). */
export function dailySeries(db: Db, configIds: string[], from: number): DayPoint[] {
  if (configIds.length === 0) return [];
  const day = sql<number>`(${backupLogs.startTime} / ${DAY_MS}) * ${DAY_MS}`;
  return db
    .select({
      configId: backupLogs.configId,
      day,
      bytes: sql<number>`sum(${backupLogs.bytesTransferred})`,
      avg: sql<number>`avg(coalesce(${backupLogs.durationMs}, 0))`,
      runs: sql<number>`count(*)`,
    })
    .from(backupLogs)
    .where(
      and(
        inArray(backupLogs.configId, configIds),
        gte(backupLogs.startTime, from),
        inArray(backupLogs.status, [...FINISHED]),
        isNotNull(backupLogs.endTime),
        eq(backupLogs.kind, "backup"),
      ),
    )
    .groupBy(backupLogs.configId, day)
    .orderBy(day)
    .all()
    .map((r) => ({
      configId: r.configId ?? "",
      day: Number(r.day),
      bytesAdded: Number(r.bytes ?? 0),
      averageDurationMs: Math.round(Number(r.avg ?? 0)),
      runs: Number(r.runs),
    }));
}
