/**
 * Fires backup jobs on their cron schedules (croner, in each job's time zone, DST included),
 * driven by backup_configs rows: armed at start, rebuilt for one job when it changes. At start-up
 * it also settles what happened while the server was down: the latest missed time runs once when
 * it is within the grace period ("catch-up"), otherwise it is reported as missed.
 * Time for those decisions comes from the injected Clock; croner's timers use real time.
 */
import { Cron } from "croner";
import {
  type BackupConfigRecord,
  findConfigRecord,
  listConfigRecords,
  setLastScheduledAt,
} from "../db/backup-configs.ts";
import type { Db } from "../db/client.ts";
import type { Clock } from "../util/clock.ts";
import type { Logger } from "../util/logger.ts";
import { normalizeCron } from "./cron.ts";

export interface SchedulerDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  /** Grace period for missed runs (ms), read at start-up. */
  graceMs(): number;
  /** A scheduled time came (or is caught up): queue a run. Must not throw. */
  fire(config: BackupConfigRecord, scheduledFor: number, trigger: "schedule" | "catch-up"): void;
  /** A scheduled time passed while the server was down, beyond the grace period. */
  missed(config: BackupConfigRecord, scheduledFor: number, count: number): void;
}

export interface Scheduler {
  /** Settles missed runs, then arms every enabled job with a schedule. */
  start(): void;
  /** Re-reads one job and re-arms it (or disarms it: deleted, disabled, manual only). */
  reschedule(configId: string): void;
  /** Disarms everything; no fire after it returns. */
  stop(): void;
  /** The next fire time of an armed job, or null. */
  nextRun(configId: string): Date | null;
}

/** Missed times counted at most (a 2-second schedule down for a week would be 300,000). */
const MAX_COUNTED = 1000;

function cronOf(config: BackupConfigRecord, paused: boolean, fn?: (self: Cron) => void): Cron {
  const options = { paused, timezone: config.schedule.timezone, mode: "5-or-6-parts" as const, catch: true };
  const pattern = normalizeCron(config.schedule.cronExpression);
  return fn ? new Cron(pattern, options, fn) : new Cron(pattern, options);
}

function scheduled(config: BackupConfigRecord): boolean {
  return config.enabled && config.schedule.cronExpression.trim() !== "";
}

export function createScheduler(deps: SchedulerDeps): Scheduler {
  const jobs = new Map<string, Cron>();
  let stopped = false;

  const disarm = (id: string) => {
    jobs.get(id)?.stop();
    jobs.delete(id);
  };

  const arm = (config: BackupConfigRecord) => {
    disarm(config.id);
    if (stopped || !scheduled(config)) return;
    try {
      const job = cronOf(config, false, (self) => {
        if (stopped) return;
        const at = self.currentRun()?.getTime() ?? deps.clock.now();
        const current = findConfigRecord(deps.db, config.id);
        if (!current || !scheduled(current)) return;
        setLastScheduledAt(deps.db, current.id, at);
        deps.fire(current, at, "schedule");
      });
      jobs.set(config.id, job);
    } catch (e) {
      deps.logger.error(
        { configId: config.id, err: { message: (e as Error).message } },
        "cannot schedule job",
      );
    }
  };

  /** The missed times since the job was last handled: the latest, and how many there were. */
  const missedTimes = (config: BackupConfigRecord, now: number): { latest: number; count: number } | null => {
    const since = config.lastScheduledAt ?? config.createdAt;
    const probe = cronOf(config, true);
    const latest = probe.previousRuns(1, new Date(now))[0]?.getTime();
    if (latest === undefined || latest <= since) return null;
    const count = probe.nextRuns(MAX_COUNTED, new Date(since)).filter((d) => d.getTime() <= now).length;
    return { latest, count: Math.max(count, 1) };
  };

  const catchUp = (config: BackupConfigRecord) => {
    const now = deps.clock.now();
    let missed: ReturnType<typeof missedTimes>;
    try {
      missed = missedTimes(config, now);
    } catch {
      return; // A bad pattern: arm() reports it.
    }
    if (!missed) return;
    setLastScheduledAt(deps.db, config.id, missed.latest);
    if (now - missed.latest <= deps.graceMs()) deps.fire(config, missed.latest, "catch-up");
    else deps.missed(config, missed.latest, missed.count);
  };

  return {
    start() {
      stopped = false;
      for (const config of listConfigRecords(deps.db, { enabled: true })) {
        if (!scheduled(config)) continue;
        catchUp(config);
        arm(config);
      }
    },
    reschedule(configId) {
      const config = findConfigRecord(deps.db, configId);
      if (!config) return disarm(configId);
      // Times before now were not missed (the server is up): count from here.
      if (scheduled(config)) setLastScheduledAt(deps.db, config.id, deps.clock.now());
      arm(config);
    },
    stop() {
      stopped = true;
      for (const id of [...jobs.keys()]) disarm(id);
    },
    nextRun(configId) {
      return jobs.get(configId)?.nextRun() ?? null;
    },
  };
}
