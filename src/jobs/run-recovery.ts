/**
 * What the server settles at start-up and when the scheduler finds times it slept through: rows a
 * killed server left queued or running (backups, restores, checks, drills) end as
 * failed/interrupted, each with an alert naming what was cut short; a missed scheduled time
 * becomes a `missed` row with its alert.
 */
import type { AlertKey } from "../db/alerts.ts";
import { type BackupConfigRecord, findConfigRecord } from "../db/backup-configs.ts";
import { activeLogs, type BackupLogRow, insertLog, updateLog } from "../db/backup-logs.ts";
import type { Db } from "../db/client.ts";
import { findDestinationRow } from "../db/destinations.ts";
import { newId } from "../util/ids.ts";
import { type OutcomeDeps, raise } from "./run-outcome.ts";

/** The reason written on a row the server was stopped under (SIGKILL, a crash, power loss). */
export const INTERRUPTED_REASON = "interrupted: the server stopped during the run";

export function recordMissed(deps: OutcomeDeps, config: BackupConfigRecord, at: number, count: number): void {
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

/**
 * Rows a killed server left queued or running end as failed/interrupted, each with an alert. The
 * target of a restore cut short holds only complete files (the engine writes under temporary
 * names), but not all of them: its alert stays until someone acknowledges it.
 */
export function recoverInterrupted(deps: OutcomeDeps): number {
  const now = deps.clock.now();
  const rows = activeLogs(deps.db);
  for (const log of rows) {
    updateLog(deps.db, log.id, {
      status: "failed",
      reason: INTERRUPTED_REASON,
      endTime: now,
      durationMs: Math.max(0, now - log.startTime),
    });
    const message = `${describeRun(deps.db, log)} was interrupted: the server stopped during the run${advice(log)}`;
    raise(deps, { ...alertKey(log), userId: log.userId, logId: log.id, type: "failure", message });
  }
  return rows.length;
}

/**
 * A backup's alert is the job's `interrupted` (its next success resolves it). A check's or drill's
 * is the `check_failed` its next successful run resolves (verify-run.ts keys it the same way). A
 * restore's is the destination's `restore_failed` (restore-alerts.ts), which a complete restore from
 * that destination resolves and whose notifications a failed restore sends.
 */
function alertKey(log: BackupLogRow): AlertKey {
  const { configId, destinationId } = log;
  if (log.kind === "backup") return { kind: "interrupted", configId };
  if (log.kind === "check" || log.kind === "drill") return { kind: "check_failed", configId, destinationId };
  return { kind: "restore_failed", configId: null, destinationId };
}

/** "Backup "job"", "Restore of snapshot 1a2b3c4d from "disk"", ... */
function describeRun(db: Db, log: BackupLogRow): string {
  const job = log.configId ? `"${findConfigRecord(db, log.configId)?.name ?? log.configId}"` : null;
  const dest = log.destinationId ? findDestinationRow(db, log.destinationId)?.name : undefined;
  const from = dest ? ` from "${dest}"` : "";
  switch (log.kind) {
    case "restore":
      return `Restore of snapshot ${log.snapshotId?.slice(0, 8) ?? "?"}${from}`;
    case "check":
      return `Repository check of "${dest ?? log.destinationId}"`;
    case "drill":
      return `Restore drill of ${job ?? "a job"}`;
    default:
      return `Backup ${job ?? "run"}`;
  }
}

function advice(log: BackupLogRow): string {
  if (log.kind === "restore")
    return "; the files restored so far are complete, start the restore again for the rest";
  if (log.kind === "backup") return "; no snapshot was written, the next run backs up again";
  return "";
}
