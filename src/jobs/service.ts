/**
 * JobService: the server's backup runs. Queues runs (manual, scheduled, caught up), starts them
 * as the run queue allows, each in a child process, cancels them, and owns the scheduler. At
 * start-up rows left queued/running by a killed server become failed/interrupted with an alert.
 * The engine is never loaded into the server: repository access is imported when a run starts,
 * and the backup itself runs in `backapp __run`.
 */
import { type BackupConfigRecord, findConfigRecord } from "../db/backup-configs.ts";
import { activeLogs, findLog, insertLog, updateLog } from "../db/backup-logs.ts";
import type { Db } from "../db/client.ts";
import { findDestinationRow } from "../db/destinations.ts";
import type { EventBus } from "../events/bus.ts";
import type { DispatchDeps } from "../notify/dispatch.ts";
import { createScheduler, type Scheduler } from "../scheduler/scheduler.ts";
import type { Clock } from "../util/clock.ts";
import { BackappError, NotFoundError } from "../util/errors.ts";
import { newId } from "../util/ids.ts";
import type { Logger } from "../util/logger.ts";
import { alertOnRestoreEnd } from "./restore-alerts.ts";
import { runChildCommand } from "./run-command.ts";
import { executeRun, type RunDeps } from "./run-execute.ts";
import { pingRun } from "./run-notify.ts";
import { raise } from "./run-outcome.ts";
import { type ChildRun, startChildRun } from "./run-process.ts";
import { type QueuedRun, RunQueue } from "./run-queue.ts";
import { runSetting } from "./run-settings.ts";
import type { QueuedTask } from "./run-task.ts";
import { checkStaleJobs } from "./staleness.ts";

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
  /** After an admin saved the run settings: applies a raised concurrency limit to waiting runs. */
  runSettingsChanged(): void;
  /** Queues a run of another kind (a restore) beside the backups; cancel(logId) reaches it. */
  enqueueTask(task: QueuedTask): void;
  /** Runs going now and runs waiting in the queue (Prometheus gauges). */
  stats(): { running: number; queued: number };
  /** Raises or resolves `no_recent_success` alerts now (also done every staleCheckMs while started). */
  checkStaleJobs(): void;
}

export interface JobServiceDeps {
  db: Db;
  clock: Clock;
  bus: EventBus;
  logger: Logger;
  dataDir: string;
  /** The child's command line (default: this program's `__run`). */
  childCommand?: string[];
  /** Notifications and healthcheck pings; absent: none are sent. */
  notify?: DispatchDeps | undefined;
  /** How often `no_recent_success` is checked (default 5 minutes). */
  staleCheckMs?: number;
}

export function createJobService(deps: JobServiceDeps): JobService {
  return new Runs(deps);
}

/** The runs of this server: the queue, the running runs' controllers and processes, the scheduler. */
class Runs implements JobService {
  private readonly controllers = new Map<string, AbortController>();
  private readonly finished = new Map<string, Promise<void>>();
  private readonly children = new Set<ChildRun>();
  private readonly tasks = new Map<string, QueuedTask>();
  private readonly queue: RunQueue;
  private readonly scheduler: Scheduler;
  private readonly runDeps: RunDeps;
  private stopping = false;
  private staleTimer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly deps: JobServiceDeps) {
    const { db } = deps;
    this.runDeps = this.makeRunDeps(deps.childCommand ?? runChildCommand());
    this.queue = new RunQueue(
      () => runSetting(db, "concurrency"),
      (run) => this.startRun(run),
    );
    this.scheduler = createScheduler({
      db,
      clock: deps.clock,
      logger: deps.logger,
      graceMs: () => runSetting(db, "missedRunGraceMs"),
      fire: (config, at, trigger) => this.fire(config, at, trigger),
      missed: (config, at, count) => recordMissed(deps, config, at, count),
    });
  }

  private makeRunDeps(command: string[]): RunDeps {
    const { db, dataDir } = this.deps;
    return {
      ...this.deps,
      async targetSpec(destinationId) {
        // Loaded when a run starts: the server itself never loads the engine at start-up.
        const { repositoryTargetSpec } = await import("./repository-access.ts");
        return repositoryTargetSpec({ db, dataDir }, destinationId);
      },
      startChild: (spec, onMessage) => {
        const child = startChildRun(command, spec, onMessage);
        this.children.add(child);
        void child.done.finally(() => this.children.delete(child));
        return child;
      },
    };
  }

  async runNow(configId: string): Promise<{ logId: string }> {
    const config = findConfigRecord(this.deps.db, configId);
    if (!config) throw new NotFoundError("backup job not found");
    if (this.stopping) throw new BackappError("the server is shutting down");
    return { logId: this.enqueue(config, "manual", null) };
  }

  async cancel(logId: string, actor: Actor): Promise<boolean> {
    const reason = actor ? `cancelled by ${actor.email}` : "cancelled";
    if (this.queue.remove(logId)) {
      this.endQueued(logId, reason);
      return true;
    }
    const controller = this.controllers.get(logId);
    if (!controller || controller.signal.aborted) return false;
    controller.abort(reason);
    return true;
  }

  reschedule(configId: string): void {
    if (this.stopping) return;
    this.scheduler.reschedule(configId);
    const config = findConfigRecord(this.deps.db, configId);
    if (!config) return;
    const at = this.deps.clock.now();
    this.deps.bus.publish({ type: "config.changed", userId: config.userId, configId, logId: null, at });
  }

  /** Run settings are read at each use; a raised concurrency limit starts waiting runs now. */
  runSettingsChanged(): void {
    if (!this.stopping) this.queue.refresh();
  }

  nextRun(configId: string): Date | null {
    return this.scheduler.nextRun(configId);
  }

  start(): void {
    this.stopping = false;
    recoverInterrupted(this.deps);
    this.scheduler.start();
    this.checkStaleJobs();
    clearInterval(this.staleTimer);
    this.staleTimer = setInterval(() => this.checkStaleJobs(), this.deps.staleCheckMs ?? 300_000);
    this.staleTimer.unref?.();
  }

  stats(): { running: number; queued: number } {
    return { running: this.queue.runningIds().length, queued: this.queue.waitingIds().length };
  }

  checkStaleJobs(): void {
    try {
      checkStaleJobs(this.deps);
    } catch (e) {
      this.deps.logger.error({ err: { message: (e as Error).message } }, "no-recent-success check failed");
    }
  }

  async stop({ drainMs = 10_000 } = {}): Promise<void> {
    this.stopping = true;
    this.scheduler.stop();
    clearInterval(this.staleTimer);
    for (const id of this.queue.waitingIds()) {
      this.queue.remove(id);
      this.endQueued(id, "the server stopped");
    }
    for (const c of this.controllers.values()) c.abort("the server stopped");
    const all = Promise.all([...this.finished.values()]);
    if ((await within(all, drainMs)) === "late") {
      // Killed runs stay "running" in the database: the next start-up marks them interrupted.
      for (const child of this.children) child.kill();
      await within(all, 2000);
    }
  }

  private fire(config: BackupConfigRecord, at: number, trigger: "schedule" | "catch-up"): void {
    if (this.stopping) return;
    const active = this.activeRunOf(config.id);
    if (active) {
      const msg = "scheduled run skipped: the previous run is still going";
      this.deps.logger.warn({ configId: config.id, logId: active }, msg);
      return;
    }
    this.enqueue(config, trigger, at);
  }

  /** The job's queued or running run (its row not yet ended: the queue lets go a moment later). */
  private activeRunOf(configId: string): string | null {
    const id = this.queue.activeRunOf(configId);
    const status = id ? findLog(this.deps.db, id)?.status : undefined;
    return id && (status === "queued" || status === "running") ? id : null;
  }

  private enqueue(config: BackupConfigRecord, trigger: string, scheduledFor: number | null): string {
    const active = this.activeRunOf(config.id);
    if (active) return active;
    const { db, clock, bus } = this.deps;
    const dest = findDestinationRow(db, config.destinationId);
    const repoKey = repoKeyOf(dest?.repositoryId, config.destinationId);
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
    const ids = { userId: config.userId, configId: config.id, logId: log.id };
    bus.publish({ type: "run.queued", ...ids, at: now, trigger });
    this.queue.add({ logId: log.id, configId: config.id, repoKey });
    return log.id;
  }

  /** Ends a run that never started (cancelled while queued, job deleted, shutdown). */
  enqueueTask(task: QueuedTask): void {
    if (this.stopping) throw new BackappError("the server is shutting down");
    const dest = findDestinationRow(this.deps.db, task.destinationId);
    this.tasks.set(task.logId, task);
    const repoKey = repoKeyOf(dest?.repositoryId, task.destinationId);
    this.queue.add({ logId: task.logId, configId: `task:${task.logId}`, repoKey });
  }

  private async startTask(task: QueuedTask): Promise<void> {
    const controller = new AbortController();
    this.controllers.set(task.logId, controller);
    const done = task.run(controller.signal).finally(() => {
      this.controllers.delete(task.logId);
      this.tasks.delete(task.logId);
    });
    this.finished.set(task.logId, done);
    await done;
    this.finished.delete(task.logId);
  }

  private endQueued(logId: string, reason: string): void {
    const task = this.tasks.get(logId);
    this.tasks.delete(logId);
    if (task) {
      task.endQueued(reason);
      return;
    }
    const { db, clock, bus } = this.deps;
    const log = findLog(db, logId);
    if (!log) return;
    const now = clock.now();
    updateLog(db, log.id, { status: "cancelled", reason, endTime: now, durationMs: 0 });
    const ids = { userId: log.userId, configId: log.configId, logId: log.id };
    bus.publish({ type: "run.finished", ...ids, at: now, status: "cancelled", snapshotId: null, reason });
  }

  private pruneDue(destinationId: string): boolean {
    const dest = findDestinationRow(this.deps.db, destinationId);
    if (!dest) return false;
    const since = this.deps.clock.now() - (dest.lastPruneAt ?? dest.createdAt);
    return since >= runSetting(this.deps.db, "pruneEveryMs");
  }

  private async startRun(run: QueuedRun): Promise<void> {
    const task = this.tasks.get(run.logId);
    if (task) return this.startTask(task);
    const { db, logger } = this.deps;
    const log = findLog(db, run.logId);
    if (!log) return;
    const config = findConfigRecord(db, run.configId);
    if (!config) return this.endQueued(log.id, "the job was deleted");
    const controller = new AbortController();
    this.controllers.set(run.logId, controller);
    const control = { signal: controller.signal, prune: this.pruneDue(config.destinationId) };
    pingRun(this.deps.notify, config, log.id, "start");
    const done = executeRun(this.runDeps, log, config, control)
      .then((o) => logger.info({ logId: log.id, configId: config.id, status: o.status }, "backup run ended"))
      .catch((e) =>
        logger.error({ logId: log.id, err: { message: (e as Error).message } }, "backup run crashed"),
      )
      .finally(() => this.controllers.delete(run.logId));
    this.finished.set(run.logId, done);
    await done;
    this.finished.delete(run.logId);
  }
}

/** Runs into one repository share a key (same repository id, else the same destination). */
function repoKeyOf(repositoryId: string | null | undefined, destinationId: string): string {
  return repositoryId ? `repo:${repositoryId}` : `dest:${destinationId}`;
}

/** Resolves with the promise's outcome, or "late" after `ms`. */
async function within(p: Promise<unknown>, ms: number): Promise<"done" | "late"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((r) => {
    timer = setTimeout(() => r("late"), ms);
  });
  try {
    return await Promise.race([p.then(() => "done" as const), late]);
  } finally {
    clearTimeout(timer);
  }
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

/** Rows a killed server left queued or running end as failed/interrupted, each with an alert (a restore: restore_failed). */
function recoverInterrupted(deps: JobServiceDeps): void {
  const now = deps.clock.now();
  for (const log of activeLogs(deps.db)) {
    updateLog(deps.db, log.id, {
      status: "failed",
      reason: "interrupted",
      endTime: now,
      durationMs: now - log.startTime,
    });
    if (log.kind === "restore") {
      const reason = "interrupted: the server stopped during the restore";
      alertOnRestoreEnd(deps, log, { status: "failed", reason, errorCount: 0 });
    }
    if (!log.configId) continue;
    const config = findConfigRecord(deps.db, log.configId);
    const message = `"${config?.name ?? log.configId}" was interrupted: the server stopped during the run`;
    raise(deps, {
      kind: "interrupted",
      configId: log.configId,
      userId: log.userId,
      logId: log.id,
      type: "failure",
      message,
    });
  }
}
