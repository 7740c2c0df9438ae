/**
 * JobService: the server's backup runs. Queues runs (manual, scheduled, caught up), starts them
 * as the run queue allows, each in a child process, cancels them, and owns the scheduler. At
 * start-up rows left queued/running by a killed server become failed/interrupted with an alert.
 * The engine is never loaded into the server: repository access is imported when a run starts,
 * and the backup itself runs in `backapp __run`.
 */
import { type BackupConfigRecord, findConfigRecord } from "../db/backup-configs.ts";
import { activeLogs, type BackupLogRow, findLog, insertLog, updateLog } from "../db/backup-logs.ts";
import type { Db } from "../db/client.ts";
import { findDestinationRow } from "../db/destinations.ts";
import type { EventBus } from "../events/bus.ts";
import { createScheduler, type Scheduler } from "../scheduler/scheduler.ts";
import type { Clock } from "../util/clock.ts";
import { NotFoundError } from "../util/errors.ts";
import { newId } from "../util/ids.ts";
import type { Logger } from "../util/logger.ts";
import { runChildCommand } from "./run-command.ts";
import { executeRun, type RunDeps } from "./run-execute.ts";
import { raise } from "./run-outcome.ts";
import { type ChildRun, startChildRun } from "./run-process.ts";
import { type QueuedRun, RunQueue } from "./run-queue.ts";
import { runSetting } from "./run-settings.ts";

export type Actor = { id: string; email: string } | null;

export interface JobService {
  /** Queues a run now; resolves with the new backup_logs id (202 answers). NotFound for an unknown config. A job already queued or running answers that run's id (a job never overlaps itself). */
  runNow(configId: string, actor: Actor): Promise<{ logId: string }>;
  /** Cancels a queued or running run through the engine's AbortSignal; false when it already ended. */
  cancel(logId: string, actor: Actor): Promise<boolean>;
  /** Rebuilds the schedule of one job after it was created, changed or deleted. */
  reschedule(configId: string): void;
  /** Stops the scheduler, cancels and drains running runs (bounded by drainMs, default 10 s). */
  stop(options?: { drainMs?: number }): Promise<void>;
  /** Settles interrupted and missed runs, then starts the scheduler. */
  start(): void;
  /** The next scheduled time of a job, or null. */
  nextRun(configId: string): Date | null;
}

export interface JobServiceDeps {
  db: Db;
  clock: Clock;
  bus: EventBus;
  logger: Logger;
  dataDir: string;
  /** The child's command line (default: this program's `__run`). */
  childCommand?: string[];
}

export function createJobService(deps: JobServiceDeps): JobService {
  const { db, clock, bus, logger } = deps;
  const controllers = new Map<string, AbortController>();
  const finished = new Map<string, Promise<void>>();
  const children = new Set<ChildRun>();
  const command = deps.childCommand ?? runChildCommand();
  let stopping = false;

  const runDeps: RunDeps = {
    db,
    clock,
    bus,
    logger,
    dataDir: deps.dataDir,
    async targetSpec(destinationId) {
      const { repositoryTargetSpec } = await import("./repository-access.ts");
      return repositoryTargetSpec({ db, dataDir: deps.dataDir }, destinationId);
    },
    startChild(spec, onMessage) {
      const child = startChildRun(command, spec, onMessage);
      children.add(child);
      void child.done.finally(() => children.delete(child));
      return child;
    },
  };

  const pruneDue = (destinationId: string): boolean => {
    const dest = findDestinationRow(db, destinationId);
    if (!dest) return false;
    return clock.now() - (dest.lastPruneAt ?? dest.createdAt) >= runSetting(db, "pruneEveryMs");
  };

  const endQueued = (log: BackupLogRow, status: "cancelled" | "failed", reason: string) => {
    const now = clock.now();
    updateLog(db, log.id, { status, reason, endTime: now, durationMs: 0 });
    bus.publish({
      type: "run.finished",
      userId: log.userId,
      configId: log.configId,
      logId: log.id,
      at: now,
      status,
      snapshotId: null,
      reason,
    });
  };

  const start = async (run: QueuedRun): Promise<void> => {
    const log = findLog(db, run.logId);
    const config = findConfigRecord(db, run.configId);
    if (!log) return;
    if (!config) return endQueued(log, "cancelled", "the job was deleted");
    const controller = new AbortController();
    controllers.set(run.logId, controller);
    const done = executeRun(runDeps, log, config, {
      signal: controller.signal,
      prune: pruneDue(config.destinationId),
    })
      .then((o) => logger.info({ logId: log.id, configId: config.id, status: o.status }, "backup run ended"))
      .catch((e) =>
        logger.error({ logId: log.id, err: { message: (e as Error).message } }, "backup run crashed"),
      )
      .finally(() => controllers.delete(run.logId));
    finished.set(run.logId, done);
    await done;
    finished.delete(run.logId);
  };

  const queue = new RunQueue(() => runSetting(db, "concurrency"), start);

  /** The job's queued or running run (its row not yet ended: the queue lets go a moment later). */
  const activeRunOf = (configId: string): string | null => {
    const id = queue.activeRunOf(configId);
    const status = id ? findLog(db, id)?.status : undefined;
    return id && (status === "queued" || status === "running") ? id : null;
  };

  const enqueue = (config: BackupConfigRecord, trigger: string, scheduledFor: number | null): string => {
    const active = activeRunOf(config.id);
    if (active) return active;
    const dest = findDestinationRow(db, config.destinationId);
    const repoKey = dest?.repositoryId ? `repo:${dest.repositoryId}` : `dest:${config.destinationId}`;
    const now = clock.now();
    const log = insertLog(db, {
      id: newId(),
      configId: config.id,
      userId: config.userId,
      status: "queued",
      trigger,
      destinationId: config.destinationId,
      scheduledFor,
      startTime: now,
    });
    bus.publish({
      type: "run.queued",
      userId: config.userId,
      configId: config.id,
      logId: log.id,
      at: now,
      trigger,
    });
    queue.add({ logId: log.id, configId: config.id, repoKey });
    return log.id;
  };

  const scheduler: Scheduler = createScheduler({
    db,
    clock,
    logger,
    graceMs: () => runSetting(db, "missedRunGraceMs"),
    fire(config, at, trigger) {
      if (stopping) return;
      const active = activeRunOf(config.id);
      if (active) {
        logger.warn(
          { configId: config.id, logId: active },
          "scheduled run skipped: the previous run is still going",
        );
        return;
      }
      enqueue(config, trigger, at);
    },
    missed(config, at, count) {
      recordMissed(deps, config, at, count);
    },
  });

  return {
    async runNow(configId) {
      const config = findConfigRecord(db, configId);
      if (!config) throw new NotFoundError("backup job not found");
      if (stopping) throw new NotFoundError("the server is shutting down");
      return { logId: enqueue(config, "manual", null) };
    },
    async cancel(logId, actor) {
      const reason = actor ? `cancelled by ${actor.email}` : "cancelled";
      if (queue.remove(logId)) {
        const log = findLog(db, logId);
        if (log) endQueued(log, "cancelled", reason);
        return true;
      }
      const controller = controllers.get(logId);
      if (!controller || controller.signal.aborted) return false;
      controller.abort(reason);
      return true;
    },
    reschedule(configId) {
      if (stopping) return;
      scheduler.reschedule(configId);
      const config = findConfigRecord(db, configId);
      if (config)
        bus.publish({
          type: "config.changed",
          userId: config.userId,
          configId,
          logId: null,
          at: clock.now(),
        });
    },
    nextRun: (configId) => scheduler.nextRun(configId),
    start() {
      stopping = false;
      recoverInterrupted(deps);
      scheduler.start();
    },
    async stop({ drainMs = 10_000 } = {}) {
      stopping = true;
      scheduler.stop();
      for (const id of queue.waitingIds()) {
        queue.remove(id);
        const log = findLog(db, id);
        if (log) endQueued(log, "cancelled", "the server stopped");
      }
      for (const c of controllers.values()) c.abort("the server stopped");
      const all = Promise.all([...finished.values()]);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<"late">((r) => {
        timer = setTimeout(() => r("late"), drainMs);
      });
      if ((await Promise.race([all, deadline])) === "late") {
        for (const child of children) child.kill();
        await Promise.race([all, new Promise((r) => setTimeout(r, 2000))]);
      }
      clearTimeout(timer);
    },
  };
}

function recordMissed(deps: JobServiceDeps, config: BackupConfigRecord, at: number, count: number): void {
  const when = new Date(at).toISOString();
  const reason = `the server was not running at ${when}${count > 1 ? ` (${count} scheduled times missed)` : ""}`;
  const log = insertLog(deps.db, {
    id: newId(),
    configId: config.id,
    userId: config.userId,
    status: "missed",
    trigger: "schedule",
    reason,
    destinationId: config.destinationId,
    scheduledFor: at,
    startTime: at,
    endTime: at,
    durationMs: 0,
  });
  const message = `"${config.name}" did not run: ${reason}`;
  raise(deps, {
    kind: "missed_schedule",
    configId: config.id,
    userId: config.userId,
    logId: log.id,
    type: "warning",
    message,
  });
}

/** Rows a killed server left queued or running end as failed/interrupted, each with an alert. */
function recoverInterrupted(deps: JobServiceDeps): void {
  const now = deps.clock.now();
  for (const log of activeLogs(deps.db)) {
    updateLog(deps.db, log.id, {
      status: "failed",
      reason: "interrupted",
      endTime: now,
      durationMs: now - log.startTime,
    });
    if (!log.configId) continue;
    const config = findConfigRecord(deps.db, log.configId);
    const message = `"${config?.name ?? log.configId}" was interrupted: the server stopped during the run`;
    raise(deps, {
      kind: "interrupted_run",
      configId: log.configId,
      userId: log.userId,
      logId: log.id,
      type: "failure",
      message,
    });
  }
}
