/**
 * One restore from start to end, in the server: mark it running, drive the child process
 * (`backapp __run` with a restore spec), publish progress and per-file errors on the bus as a
 * backup's (the same SSE event shapes), then write the final row, raise or resolve the
 * restore_failed alert (restore-alerts.ts) and publish run.finished.
 * Never throws: every failure ends as a `failed` (or `cancelled`) row.
 */
import { type BackupLogRow, type LogFileError, MAX_STORED_ERRORS, updateLog } from "../db/backup-logs.ts";
import type { Db } from "../db/client.ts";
import type { EventBus } from "../events/bus.ts";
import type { DispatchDeps } from "../notify/dispatch.ts";
import type { Clock } from "../util/clock.ts";
import type { Logger } from "../util/logger.ts";
import { alertOnRestoreEnd } from "./restore-alerts.ts";
import type { ExistingChoice, RestoreSpec } from "./restore-protocol.ts";
import { runChildCommand } from "./run-command.ts";
import { startChildRun } from "./run-process.ts";
import type { ChildMessage } from "./run-protocol.ts";

export interface RestoreRunDeps {
  db: Db;
  dataDir: string;
  clock: Clock;
  bus: EventBus;
  logger: Logger;
  /** Where a failed restore's alert notifications go; absent in tests that need none. */
  notify?: DispatchDeps | undefined;
}

export interface RestorePlan {
  snapshotId: string;
  paths: string[];
  folder: string;
  /** See RestoreSpec.within (absent for admins). */
  within?: string[];
  existing: ExistingChoice;
}

interface Tally {
  files: number;
  bytes: number;
  skipped: number;
  errors: LogFileError[];
  errorCount: number;
  finished: boolean;
  failed: string | null;
  /** When counters were last written to the row (ms). */
  lastWrite: number;
}

const PROGRESS_WRITE_MS = 1000;

export async function driveRestore(
  deps: RestoreRunDeps,
  log: BackupLogRow,
  plan: RestorePlan,
  signal: AbortSignal,
): Promise<void> {
  const { db, clock, bus } = deps;
  const started = clock.now();
  const ids = { userId: log.userId, configId: null, logId: log.id };
  updateLog(db, log.id, { status: "running", startTime: started });
  bus.publish({ ...ids, at: started, type: "run.started" });
  const tally: Tally = {
    files: 0,
    bytes: 0,
    skipped: 0,
    errors: [],
    errorCount: 0,
    finished: false,
    failed: null,
    lastWrite: 0,
  };
  let exit: { exitCode: number | null; stderrTail: string } | null = null;
  try {
    const { repositoryTargetSpec } = await import("./repository-access.ts");
    const target = repositoryTargetSpec({ db, dataDir: deps.dataDir }, log.destinationId ?? "");
    const spec: RestoreSpec = { kind: "restore", logId: log.id, target, ...plan };
    const child = startChildRun(runChildCommand(), spec, (m) => onMessage(deps, log, tally, m));
    const onAbort = () => child.cancel();
    signal.addEventListener("abort", onAbort, { once: true });
    exit = await child.done.finally(() => signal.removeEventListener("abort", onAbort));
  } catch (e) {
    tally.failed = `destination: ${(e as Error).message}`;
  }
  finish(deps, log, started, tally, signal, exit);
}

function onMessage(deps: RestoreRunDeps, log: BackupLogRow, tally: Tally, m: ChildMessage): void {
  const now = deps.clock.now();
  const ids = { userId: log.userId, configId: null, logId: log.id };
  if (m.type === "progress") {
    deps.bus.publish({ ...ids, at: now, type: "run.progress", progress: m.progress });
    if (now - tally.lastWrite < PROGRESS_WRITE_MS) return;
    tally.lastWrite = now;
    updateLog(deps.db, log.id, { filesProcessed: m.progress.filesDone, totalBytes: m.progress.bytesDone });
  } else if (m.type === "file-error") {
    tally.errorCount++;
    if (tally.errors.length < MAX_STORED_ERRORS) tally.errors.push({ path: m.path, message: m.message });
    deps.bus.publish({ ...ids, at: now, type: "run.file-error", path: m.path, message: m.message });
  } else if (m.type === "restored") {
    Object.assign(tally, {
      files: m.filesRestored,
      bytes: m.bytesRestored,
      skipped: m.filesSkipped,
      finished: true,
    });
  } else if (m.type === "failed") {
    tally.failed = m.message;
  }
}

function finish(
  deps: RestoreRunDeps,
  log: BackupLogRow,
  started: number,
  tally: Tally,
  signal: AbortSignal,
  exit: { exitCode: number | null; stderrTail: string } | null,
): void {
  const now = deps.clock.now();
  let status: "completed" | "partial" | "failed" | "cancelled";
  let reason: string | null = null;
  if (tally.finished) status = tally.errorCount > 0 ? "partial" : "completed";
  else if (signal.aborted) {
    status = "cancelled";
    reason = typeof signal.reason === "string" ? signal.reason : "cancelled";
  } else {
    status = "failed";
    const tail = exit?.stderrTail.trim().split("\n").slice(-3).join(" ").slice(0, 500) ?? "";
    reason =
      tally.failed ??
      `the restore's process ended without a result (exit ${exit?.exitCode})${tail ? `: ${tail}` : ""}`;
  }
  updateLog(deps.db, log.id, {
    status,
    reason,
    endTime: now,
    durationMs: now - started,
    filesProcessed: tally.files,
    totalBytes: tally.bytes,
    filesSkipped: tally.skipped,
    errors: JSON.stringify(tally.errors),
  });
  deps.logger.info({ logId: log.id, status }, "restore ended");
  alertOnRestoreEnd(deps, log, { status, reason, errorCount: tally.errorCount });
  const ids = { userId: log.userId, configId: null, logId: log.id };
  deps.bus.publish({ ...ids, at: now, type: "run.finished", status, snapshotId: log.snapshotId, reason });
}
