/**
 * The `no_recent_success` alert: a job whose last successful run (or, without one, its creation)
 * is older than its threshold — `alertAfterHours` from its options, else twice its schedule's
 * longest gap between runs (a weekday job is judged on its weekend gap, not its daily one).
 * Checked periodically by JobService with the injected clock. One alert per ongoing problem: a
 * check that finds the alert already open leaves it alone; a success (run-outcome) or a job no
 * longer due (disabled, threshold raised) resolves it.
 */
import { findOpenAlert } from "../db/alerts.ts";
import { type BackupConfigRecord, listConfigRecords } from "../db/backup-configs.ts";
import { lastSuccessByConfig } from "../db/metrics-queries.ts";
import { nextRunTimes } from "../scheduler/cron.ts";
import { type OutcomeDeps, raise, resolve } from "./run-outcome.ts";

const HOUR_MS = 3_600_000;

/** The job's threshold in ms, or null when it is not judged (disabled, or manual with no hours set). */
export function staleThresholdMs(config: BackupConfigRecord, now: number): number | null {
  if (!config.enabled) return null;
  const hours = config.options.alertAfterHours;
  if (hours) return hours * HOUR_MS;
  const gap = longestGap(config.schedule, now);
  return gap > 0 ? 2 * gap : null;
}

/** Longest gap per schedule: croner in a time zone costs milliseconds, the dashboard asks per job per view. */
const gaps = new Map<string, number>();

function longestGap(schedule: BackupConfigRecord["schedule"], now: number): number {
  const key = `${schedule.cronExpression}|${schedule.timezone}`;
  const known = gaps.get(key);
  if (known !== undefined) return known;
  const times = nextRunTimes(schedule, 8, new Date(now)).map((d) => d.getTime());
  let gap = 0;
  for (let i = 1; i < times.length; i++) gap = Math.max(gap, (times[i] as number) - (times[i - 1] as number));
  if (gaps.size >= 1000) gaps.clear();
  gaps.set(key, gap);
  return gap;
}

/** "3 d 4 h", "5 h 10 min", "12 min". */
export function spanText(ms: number): string {
  const min = Math.floor(ms / 60_000);
  const d = Math.floor(min / 1440);
  const h = Math.floor((min % 1440) / 60);
  if (d > 0) return `${d} d${h ? ` ${h} h` : ""}`;
  if (h > 0) return `${h} h${min % 60 ? ` ${min % 60} min` : ""}`;
  return `${min} min`;
}

/** Raises or resolves every job's `no_recent_success` alert as of now. */
export function checkStaleJobs(deps: OutcomeDeps): void {
  const now = deps.clock.now();
  const configs = listConfigRecords(deps.db);
  const last = lastSuccessByConfig(
    deps.db,
    configs.map((c) => c.id),
  );
  for (const config of configs) {
    const key = { kind: "no_recent_success" as const, configId: config.id };
    const threshold = staleThresholdMs(config, now);
    const since = last.get(config.id) ?? config.createdAt;
    const open = findOpenAlert(deps.db, key);
    if (threshold === null || now - since <= threshold) {
      if (open) resolve(deps, key);
      continue;
    }
    if (open) continue;
    const what = last.has(config.id) ? "no successful backup" : "no successful backup since it was created";
    raise(deps, {
      ...key,
      userId: config.userId,
      type: "failure",
      message: `"${config.name}" has had ${what} for ${spanText(now - since)} (alert after ${spanText(threshold)})`,
    });
  }
}
