/**
 * What a restore's end says to its owner, the way a backup's end does (run-outcome.ts): a failed
 * restore raises (or repeats) a `restore_failed` alert keyed by the destination, and the alert's
 * notifications go out through the same dispatcher; a restore that could not write some files
 * raises it as a warning; a complete restore from that destination resolves it.
 * A restore a person cancelled is no problem to report; one the server ended (it stopped) is.
 */
import type { BackupLogRow } from "../db/backup-logs.ts";
import { findDestinationRow } from "../db/destinations.ts";
import { type OutcomeDeps, raise, resolve } from "./run-outcome.ts";

export interface RestoreEnd {
  status: "completed" | "partial" | "failed" | "cancelled";
  reason: string | null;
  /** Files that could not be written (partial restores). */
  errorCount: number;
}

/** A cancel reason written by JobService.cancel (a person); anything else ended it by itself. */
function cancelledByPerson(reason: string | null): boolean {
  return reason === null || reason === "cancelled" || reason.startsWith("cancelled by ");
}

/** Raises or resolves the destination's restore_failed alert for a restore that ended. */
export function alertOnRestoreEnd(deps: OutcomeDeps, log: BackupLogRow, end: RestoreEnd): void {
  const destinationId = log.destinationId;
  if (!destinationId) return;
  const key = { kind: "restore_failed" as const, configId: null, destinationId };
  if (end.status === "completed") {
    resolve(deps, key);
    return;
  }
  if (end.status === "cancelled" && cancelledByPerson(end.reason)) return;
  const name = findDestinationRow(deps.db, destinationId)?.name ?? destinationId;
  const what = `Restore of snapshot ${(log.snapshotId ?? "").slice(0, 8)} from "${name}"`;
  const partial = end.status === "partial";
  const message = partial
    ? `${what}: ${end.errorCount} file(s) could not be written`
    : `${what} ${end.status === "failed" ? "failed" : "was stopped"}: ${end.reason ?? "no reason given"}`;
  raise(deps, { ...key, userId: log.userId, logId: log.id, type: partial ? "warning" : "failure", message });
}
