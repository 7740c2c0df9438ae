/**
 * One check or drill from start to end, in the server: mark it running, drive the child process
 * (`backapp __run` with a verification spec), then write the final row (counters + details JSON),
 * raise or resolve its `check_failed` alert and publish run.finished. Never throws.
 *
 * Status: completed when nothing was found; failed when the run found a problem (a damaged
 * repository, a mismatching file) or could not run; cancelled when cancelled.
 */
import type { AlertKey } from "../db/alerts.ts";
import { type BackupLogRow, updateLog } from "../db/backup-logs.ts";
import type { Logger } from "../util/logger.ts";
import { runChildCommand } from "./run-command.ts";
import { type OutcomeDeps, raise, resolve } from "./run-outcome.ts";
import { startChildRun } from "./run-process.ts";
import type { ChildMessage } from "./run-protocol.ts";
import type { CheckDetails, DrillDetails, VerifySpec } from "./verify-protocol.ts";

export interface VerifyRunDeps extends OutcomeDeps {
  logger: Logger;
  /** The child's command line (default: this program's `__run`). */
  childCommand?: string[];
}

interface Result {
  details: CheckDetails | DrillDetails | null;
  failed: string | null;
}

export async function driveVerification(
  deps: VerifyRunDeps,
  log: BackupLogRow,
  spec: () => VerifySpec,
  label: string,
  signal: AbortSignal,
): Promise<void> {
  const { db, clock, bus } = deps;
  const started = clock.now();
  const ids = { userId: log.userId, configId: log.configId, logId: log.id };
  updateLog(db, log.id, { status: "running", startTime: started });
  bus.publish({ ...ids, at: started, type: "run.started" });
  const result: Result = { details: null, failed: null };
  let tail = "";
  try {
    const child = startChildRun(deps.childCommand ?? runChildCommand(), spec(), (m) => collect(result, m));
    const onAbort = () => child.cancel();
    signal.addEventListener("abort", onAbort, { once: true });
    const exit = await child.done.finally(() => signal.removeEventListener("abort", onAbort));
    tail = `exit ${exit.exitCode}: ${exit.stderrTail.trim().split("\n").slice(-3).join(" ").slice(0, 400)}`;
  } catch (e) {
    result.failed = (e as Error).message;
  }
  finish(deps, log, started, result, signal, label, tail);
}

function collect(result: Result, m: ChildMessage): void {
  if (m.type === "checked" || m.type === "drilled") result.details = m.details;
  else if (m.type === "failed") result.failed = m.message;
}

/** What the details say is wrong, or null when all is well. */
export function problemOf(details: CheckDetails | DrillDetails): string | null {
  if ("problemCount" in details) {
    if (details.problemCount === 0) return null;
    const first = details.problems[0];
    return `${details.problemCount} problem(s), first: ${first?.object}: ${first?.message}`;
  }
  const all = [...details.restoreErrors, ...details.restored.mismatches, ...details.source.mismatches];
  if (all.length === 0) return null;
  const first = all[0];
  return `${all.length} file(s) did not match, first: ${first?.path}: ${first?.reason} (${first?.detail})`;
}

function finish(
  deps: VerifyRunDeps,
  log: BackupLogRow,
  started: number,
  result: Result,
  signal: AbortSignal,
  label: string,
  tail: string,
): void {
  const now = deps.clock.now();
  const problem = result.details ? problemOf(result.details) : null;
  let status: "completed" | "failed" | "cancelled" = "completed";
  let reason: string | null = null;
  if (signal.aborted && !result.details) {
    status = "cancelled";
    reason = typeof signal.reason === "string" ? signal.reason : "cancelled";
  } else if (!result.details) {
    status = "failed";
    reason = result.failed ?? `the process ended without a result (${tail})`;
  } else if (problem) {
    status = "failed";
    reason = problem;
  }
  const d = result.details;
  const counters = !d
    ? {}
    : "problemCount" in d
      ? { filesProcessed: d.blobsChecked, totalBytes: 0 }
      : { filesProcessed: d.restored.filesChecked, totalBytes: d.restored.bytesChecked };
  updateLog(deps.db, log.id, {
    status,
    reason,
    endTime: now,
    durationMs: now - started,
    details: d ? JSON.stringify(d) : null,
    ...counters,
  });
  deps.logger.info({ logId: log.id, kind: log.kind, status }, "verification ended");
  alertOn(deps, log, status, reason, label);
  const ids = { userId: log.userId, configId: log.configId, logId: log.id };
  deps.bus.publish({ ...ids, at: now, type: "run.finished", status, snapshotId: null, reason });
}

/** A failure raises (or repeats) check_failed for the destination (check) or the job (drill); success resolves it. */
function alertOn(
  deps: VerifyRunDeps,
  log: BackupLogRow,
  status: string,
  reason: string | null,
  label: string,
) {
  if (status === "cancelled") return;
  const key: AlertKey = { kind: "check_failed", configId: log.configId, destinationId: log.destinationId };
  if (status === "completed") return resolve(deps, key);
  const what = log.kind === "drill" ? "Restore drill" : "Repository check";
  raise(deps, {
    ...key,
    userId: log.userId,
    type: "failure",
    logId: log.id,
    message: `${what} of ${label} failed: ${reason}`,
  });
}
