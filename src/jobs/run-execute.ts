/**
 * One run from start to end, in the server: mark it running, run the pre hook, build the spec,
 * drive the child process, record counters and per-file errors as they come, run the post hook,
 * then write the final row, raise or resolve alerts and publish run.finished. Never throws: every
 * failure ends as a `failed` (or `cancelled`) row.
 */
import { configAccessProblems, principalOf } from "../auth/permissions.ts";
import type { BackupConfigRecord } from "../db/backup-configs.ts";
import { type BackupLogRow, type LogFileError, MAX_STORED_ERRORS, updateLog } from "../db/backup-logs.ts";
import type { Db } from "../db/client.ts";
import { findUserById } from "../db/users.ts";
import type { EventBus } from "../events/bus.ts";
import type { DispatchDeps } from "../notify/dispatch.ts";
import type { Clock } from "../util/clock.ts";
import type { Logger } from "../util/logger.ts";
import { runHook } from "./hooks.ts";
import { recoveryCopyText } from "./recovery-document.ts";
import { recordOutcome } from "./run-outcome.ts";
import type { ChildRun } from "./run-process.ts";
import type { ChildMessage, FailureKind, RunSpec } from "./run-protocol.ts";

export interface RunDeps {
  db: Db;
  clock: Clock;
  bus: EventBus;
  logger: Logger;
  dataDir: string;
  /** Builds the repository spec of a destination (secrets revealed). */
  targetSpec(destinationId: string): Promise<RunSpec["target"]>;
  /** Starts the child process of a run. */
  startChild(spec: RunSpec, onMessage: (m: ChildMessage) => void): ChildRun;
  /** Notifications and healthcheck pings (run-notify.ts); absent: none. */
  notify?: DispatchDeps | undefined;
}

/** What a run came to; the row and the alerts are written from it. */
export interface Outcome {
  status: "completed" | "partial" | "failed" | "cancelled";
  reason: string | null;
  failureKind: FailureKind | "hook" | null;
  snapshotId: string | null;
  filesProcessed: number;
  filesSkipped: number;
  totalBytes: number;
  bytesTransferred: number;
  errors: LogFileError[];
  pruned: boolean;
  retentionProblem: string | null;
}

const PROGRESS_WRITE_MS = 1000;

function emptyOutcome(): Outcome {
  return {
    status: "failed",
    reason: null,
    failureKind: null,
    snapshotId: null,
    filesProcessed: 0,
    filesSkipped: 0,
    totalBytes: 0,
    bytesTransferred: 0,
    errors: [],
    pruned: false,
    retentionProblem: null,
  };
}

/** The run's spec: what the child needs and nothing more. */
function specOf(
  config: BackupConfigRecord,
  logId: string,
  target: RunSpec["target"],
  prune: boolean,
  recoveryCopy: string | null,
): RunSpec {
  const o = config.options;
  return {
    logId,
    target,
    sources: config.sources,
    tags: [`job:${config.id}`],
    full: o.type === "full",
    compression: o.compression ? o.compressionLevel : "off",
    ...(o.bandwidth ? { limitUploadKbps: o.bandwidth } : {}),
    retention: { ...o.retention, retentionDays: o.retentionDays },
    prune,
    ...(recoveryCopy !== null ? { recoveryCopy } : {}),
  };
}

function hookVars(config: BackupConfigRecord, log: BackupLogRow): Record<string, string> {
  return {
    BACKAPP_JOB_ID: config.id,
    BACKAPP_JOB_NAME: config.name,
    BACKAPP_LOG_ID: log.id,
    BACKAPP_TRIGGER: log.trigger,
    BACKAPP_DESTINATION_ID: config.destinationId,
    BACKAPP_SOURCES: config.sources.map((s) => s.path).join("\n"),
  };
}

/**
 * Checked again at run time, not only when the job was saved: an administrator may since have
 * narrowed the owner's allowed folders or disabled the account.
 */
function accessProblem(db: Db, config: BackupConfigRecord): string | null {
  const owner = findUserById(db, config.userId);
  if (!owner || owner.disabled) return "the job's owner is disabled";
  const problems = configAccessProblems(principalOf(owner), { paths: config.sources.map((s) => s.path) });
  return problems.paths ?? null;
}

export interface RunControl {
  signal: AbortSignal;
  /** Prune is due for this repository. */
  prune: boolean;
}

export async function executeRun(
  deps: RunDeps,
  log: BackupLogRow,
  config: BackupConfigRecord,
  control: RunControl,
): Promise<Outcome> {
  const { db, clock, bus } = deps;
  const started = clock.now();
  updateLog(db, log.id, { status: "running", startTime: started });
  const ids = { userId: log.userId, configId: config.id, logId: log.id };
  bus.publish({ ...ids, at: started, type: "run.started" });
  const vars = hookVars(config, log);
  let outcome = emptyOutcome();
  const pre = config.hooks.pre;
  const denied = accessProblem(deps.db, config);
  const preResult = pre && !denied ? await runHook(pre, vars, control.signal) : null;
  if (denied) {
    outcome = { ...outcome, reason: denied, failureKind: "source" };
  } else if (control.signal.aborted) {
    outcome = {
      ...outcome,
      status: "cancelled",
      reason: cancelReason(control.signal),
      failureKind: "cancelled",
    };
  } else if (pre && preResult && !preResult.ok && pre.abortOnFailure !== false) {
    const reason = `pre hook failed (${preResult.outcome})${preResult.output ? `: ${preResult.output}` : ""}`;
    outcome = { ...outcome, reason, failureKind: "hook" };
  } else {
    outcome = await driveChild(deps, log, config, control, outcome);
  }
  const post = config.hooks.post;
  if (post) {
    const postVars = {
      ...vars,
      BACKAPP_STATUS: outcome.status,
      BACKAPP_SNAPSHOT_ID: outcome.snapshotId ?? "",
      BACKAPP_ERROR: outcome.status === "completed" ? "" : (outcome.reason ?? ""),
    };
    // Post hooks run even after a cancel: they often undo what the pre hook did.
    const r = await runHook(post, postVars, new AbortController().signal);
    if (!r.ok)
      outcome.reason = [outcome.reason, `post hook failed (${r.outcome})`].filter(Boolean).join("; ");
  }
  recordOutcome(deps, log, config, started, outcome);
  return outcome;
}

async function driveChild(
  deps: RunDeps,
  log: BackupLogRow,
  config: BackupConfigRecord,
  control: RunControl,
  outcome: Outcome,
): Promise<Outcome> {
  let target: RunSpec["target"];
  try {
    target = await deps.targetSpec(config.destinationId);
  } catch (e) {
    return { ...outcome, reason: `destination: ${(e as Error).message}`, failureKind: "destination" };
  }
  const ids = { userId: log.userId, configId: config.id, logId: log.id };
  let failed: { kind: FailureKind; message: string } | null = null;
  let lastWrite = 0;
  const onMessage = (m: ChildMessage) => {
    const now = deps.clock.now();
    switch (m.type) {
      case "progress": {
        deps.bus.publish({ ...ids, at: now, type: "run.progress", progress: m.progress });
        if (now - lastWrite < PROGRESS_WRITE_MS) break;
        lastWrite = now;
        const p = m.progress;
        updateLog(deps.db, log.id, {
          filesProcessed: p.filesDone,
          totalBytes: p.bytesDone,
          filesSkipped: p.errors,
        });
        break;
      }
      case "file-error":
        outcome.filesSkipped++;
        if (outcome.errors.length < MAX_STORED_ERRORS)
          outcome.errors.push({ path: m.path, message: m.message });
        deps.bus.publish({ ...ids, at: now, type: "run.file-error", path: m.path, message: m.message });
        break;
      case "backed-up":
        Object.assign(outcome, {
          snapshotId: m.snapshotId,
          filesProcessed: m.filesProcessed,
          filesSkipped: m.filesSkipped,
          totalBytes: m.totalBytes,
          bytesTransferred: m.bytesTransferred,
        });
        updateLog(deps.db, log.id, { snapshotId: m.snapshotId });
        break;
      case "retention":
        outcome.pruned = m.pruned;
        outcome.retentionProblem = m.problem;
        break;
      case "failed":
        failed = { kind: m.kind, message: m.message };
        break;
    }
  };
  const child = deps.startChild(
    specOf(config, log.id, target, control.prune, recoveryCopyText(deps.db, config.destinationId)),
    onMessage,
  );
  const onAbort = () => child.cancel();
  control.signal.addEventListener("abort", onAbort, { once: true });
  const exit = await child.done.finally(() => control.signal.removeEventListener("abort", onAbort));
  return settle(outcome, failed, exit, control.signal.aborted ? cancelReason(control.signal) : null);
}

function cancelReason(signal: AbortSignal): string {
  return typeof signal.reason === "string" ? signal.reason : "cancelled";
}

function settle(
  outcome: Outcome,
  failed: { kind: FailureKind; message: string } | null,
  exit: { exitCode: number | null; stderrTail: string },
  cancelled: string | null,
): Outcome {
  if (outcome.snapshotId) {
    // The snapshot is written: a later problem (retention) does not undo it.
    const status = outcome.filesSkipped > 0 ? "partial" : "completed";
    const reason = outcome.retentionProblem ? `retention: ${outcome.retentionProblem}` : null;
    return { ...outcome, status, reason };
  }
  if (failed?.kind === "cancelled" || cancelled) {
    return { ...outcome, status: "cancelled", reason: cancelled ?? "cancelled", failureKind: "cancelled" };
  }
  if (failed) return { ...outcome, reason: failed.message, failureKind: failed.kind };
  const last = exit.stderrTail.trim().split("\n").slice(-3).join(" ").slice(0, 500);
  return {
    ...outcome,
    reason: `the run's process ended without a result (exit ${exit.exitCode})${last ? `: ${last}` : ""}`,
    failureKind: "other",
  };
}
