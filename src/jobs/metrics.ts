/**
 * What the dashboard and `GET /api/metrics` show: per-user totals over a period, each job's
 * health (last result, age of the last success, next run, red/amber/green with a label), and
 * daily series for the charts. Read-only; every number comes from backup_logs and alerts rows.
 */
import { type AlertRow, listOpenAlerts } from "../db/alerts.ts";
import { type BackupConfigRecord, listConfigRecords } from "../db/backup-configs.ts";
import type { BackupLogRow } from "../db/backup-logs.ts";
import type { Db } from "../db/client.ts";
import {
  type DayPoint,
  dailySeries,
  jobTotals,
  lastSuccessByConfig,
  latestRunByConfig,
  periodTotals,
} from "../db/metrics-queries.ts";
import { direct, type Memo } from "./metrics-cache.ts";
import type { JobService } from "./service.ts";
import { spanText, staleThresholdMs } from "./staleness.ts";

export const PERIODS = { "7d": 7, "30d": 30, "90d": 90 } as const;
export type Period = keyof typeof PERIODS;

const DAY_MS = 86_400_000;

export interface MetricsDeps {
  db: Db;
  jobs: Pick<JobService, "nextRun">;
}

export type HealthState = "green" | "amber" | "red";

export interface JobHealth {
  config: BackupConfigRecord;
  state: HealthState;
  /** The state in words (the colour is never the only signal). */
  label: string;
  /** Why, in a sentence. */
  detail: string;
  lastRun: BackupLogRow | null;
  lastSuccessAt: number | null;
  nextRun: number | null;
  openAlerts: AlertRow[];
}

/** The first period start (UTC midnight `days` days ago, today included). */
export function periodStart(now: number, period: Period): number {
  return Math.floor(now / DAY_MS) * DAY_MS - (PERIODS[period] - 1) * DAY_MS;
}

const lastSuccessText = (ms: number) =>
  ms < 60_000 ? "Last success moments ago." : `Last success ${spanText(ms)} ago.`;

function judge(
  config: BackupConfigRecord,
  last: BackupLogRow | null,
  lastSuccessAt: number | null,
  open: AlertRow[],
  now: number,
): Pick<JobHealth, "state" | "label" | "detail"> {
  const failure = open.find((a) => a.type === "failure");
  if (failure) return { state: "red", label: "Failing", detail: failure.message };
  if (last?.status === "failed")
    return { state: "red", label: "Failing", detail: last.reason ?? "The last run failed." };
  const warning = open.find((a) => a.type !== "failure");
  if (warning) return { state: "amber", label: "Needs attention", detail: warning.message };
  if (!config.enabled)
    return { state: "amber", label: "Disabled", detail: "The job does not run on its schedule." };
  if (lastSuccessAt === null)
    return { state: "amber", label: "No backup yet", detail: "No run has succeeded yet." };
  const threshold = staleThresholdMs(config, now);
  // Past half the alert threshold: still fine, but worth a look before it turns red.
  if (threshold !== null && now - lastSuccessAt > threshold / 2)
    return {
      state: "amber",
      label: "Getting old",
      detail: lastSuccessText(now - lastSuccessAt),
    };
  if (last && last.status !== "completed" && last.status !== "running" && last.status !== "queued")
    return { state: "amber", label: "Needs attention", detail: `The last run ended ${last.status}.` };
  return { state: "green", label: "Healthy", detail: lastSuccessText(now - lastSuccessAt) };
}

/** Every job of the user (all users' when null) with its health, worst first, then by name. */
export function jobHealth(deps: MetricsDeps, userId: string | null, now: number): JobHealth[] {
  const configs = listConfigRecords(deps.db, userId ? { userId } : {});
  const ids = configs.map((c) => c.id);
  const latest = latestRunByConfig(deps.db, ids);
  const success = lastSuccessByConfig(deps.db, ids);
  const alerts = listOpenAlerts(deps.db, userId ? { userId } : {});
  const rank: Record<HealthState, number> = { red: 0, amber: 1, green: 2 };
  return configs
    .map((config) => {
      const open = alerts.filter((a) => a.configId === config.id);
      const last = latest.get(config.id) ?? null;
      const lastSuccessAt = success.get(config.id) ?? null;
      const next = config.enabled ? deps.jobs.nextRun(config.id) : null;
      return {
        config,
        ...judge(config, last, lastSuccessAt, open, now),
        lastRun: last,
        lastSuccessAt,
        nextRun: next ? next.getTime() : null,
        openAlerts: open,
      };
    })
    .sort((a, b) => rank[a.state] - rank[b.state]);
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * The BackupMetrics JSON of issue 9. successRate is a percentage (0–100, one decimal) of the
 * period's finished runs; averageDuration is in ms; totalStorageUsed is the bytes all successful
 * runs ever uploaded (what the repositories received; pruning is not subtracted).
 */
export function backupMetrics(
  deps: MetricsDeps,
  userId: string | null,
  period: Period,
  now: number,
  health: JobHealth[] = jobHealth(deps, userId, now),
  memo: Memo = direct,
) {
  const from = periodStart(now, period);
  const totals = memo(`totals:${userId}:${from}`, () => periodTotals(deps.db, userId, from));
  const stored = memo(`totals:${userId}:all`, () => periodTotals(deps.db, userId, 0));
  const ids = health.map((h) => h.config.id);
  const perJob = memo(`jobs:${userId}:${from}:${ids.join(",")}`, () => jobTotals(deps.db, ids, from));
  const rate = (runs: number, ok: number) => (runs === 0 ? null : Math.round((ok / runs) * 1000) / 10);
  return {
    totalBackups: totals.runs,
    successRate: rate(totals.runs, totals.succeeded),
    averageDuration: totals.averageDurationMs,
    totalStorageUsed: stored.bytesAdded,
    lastBackupDate: iso(stored.lastBackupAt),
    upcomingBackups: health
      .filter((h) => h.nextRun !== null)
      .sort((a, b) => (a.nextRun ?? 0) - (b.nextRun ?? 0))
      .map((h) => ({ configId: h.config.id, name: h.config.name, nextRun: iso(h.nextRun) })),
    perJob: health.map((h) => {
      const t = perJob.get(h.config.id);
      return {
        configId: h.config.id,
        name: h.config.name,
        health: h.state,
        healthLabel: h.label,
        lastStatus: h.lastRun?.status ?? null,
        lastSuccess: iso(h.lastSuccessAt),
        nextRun: iso(h.nextRun),
        totalBackups: t?.runs ?? 0,
        successRate: rate(t?.runs ?? 0, t?.succeeded ?? 0),
        averageDuration: t?.averageDurationMs ?? null,
        bytesAdded: t?.bytesAdded ?? 0,
        openAlerts: h.openAlerts.length,
      };
    }),
  };
}

export type BackupMetricsJson = ReturnType<typeof backupMetrics>;

/** Daily points per job since the period's start, for the charts. */
export function jobSeries(
  db: Db,
  configIds: string[],
  period: Period,
  now: number,
  memo: Memo = direct,
): DayPoint[] {
  const from = periodStart(now, period);
  return memo(`series:${from}:${configIds.join(",")}`, () => dailySeries(db, configIds, from));
}
