/**
 * Writes what a run came to: the final row, the alerts it raises or resolves (one open row per
 * ongoing problem), the repository's last prune time, and run.finished on the bus.
 */
import { eq } from "drizzle-orm";
import { type AlertKey, type AlertKind, type RaiseAlert, raiseAlert, resolveAlerts } from "../db/alerts.ts";
import type { BackupConfigRecord } from "../db/backup-configs.ts";
import { type BackupLogRow, updateLog } from "../db/backup-logs.ts";
import type { Db } from "../db/client.ts";
import { destinations } from "../db/schema.ts";
import type { EventBus } from "../events/bus.ts";
import type { DispatchDeps } from "../notify/dispatch.ts";
import type { Clock } from "../util/clock.ts";
import type { Outcome } from "./run-execute.ts";
import { announceRunEnd, notifyAlert } from "./run-notify.ts";

export interface OutcomeDeps {
  db: Db;
  clock: Clock;
  bus: EventBus;
  /** Where notifications and healthcheck pings go; absent in tests that need none. */
  notify?: DispatchDeps | undefined;
}

/** Raises an alert (or repeats the open one), notifies its owner, and tells the bus when it is new. */
export function raise(deps: OutcomeDeps, input: RaiseAlert): void {
  const { row, created } = raiseAlert(deps.db, deps.clock.now(), input);
  notifyAlert(deps.notify, row);
  if (!created) return;
  deps.bus.publish({
    type: "alert.raised",
    userId: row.userId,
    configId: row.configId,
    logId: row.logId,
    at: row.timestamp,
    alertId: row.id,
    kind: row.kind,
    message: row.message,
  });
}

export function resolve(deps: OutcomeDeps, key: AlertKey): void {
  for (const row of resolveAlerts(deps.db, deps.clock.now(), key)) {
    deps.bus.publish({
      type: "alert.resolved",
      userId: row.userId,
      configId: row.configId,
      logId: row.logId,
      at: deps.clock.now(),
      alertId: row.id,
      kind: row.kind,
    });
  }
}

function updateAlerts(deps: OutcomeDeps, log: BackupLogRow, config: BackupConfigRecord, o: Outcome): void {
  const job = (kind: AlertKind) => ({ kind, configId: config.id });
  const base = { userId: config.userId, logId: log.id };
  const name = `"${config.name}"`;
  if (o.status === "completed" || o.status === "partial") {
    for (const kind of ["failed_run", "interrupted", "missed_schedule", "no_recent_success"] as const)
      resolve(deps, job(kind));
    resolve(deps, { kind: "destination_unreachable", destinationId: config.destinationId });
    if (o.status === "partial") {
      const message = `${name}: ${o.filesSkipped} file(s) could not be read`;
      raise(deps, { ...base, ...job("unreadable_files"), type: "warning", message });
    } else resolve(deps, job("unreadable_files"));
    // A failed forget/prune is a repository maintenance problem: issue 9's `check_failed` kind,
    // keyed by the job (a repository check's own alert is keyed by the destination).
    if (o.retentionProblem) {
      const message = `${name}: retention or prune failed: ${o.retentionProblem}`;
      raise(deps, { ...base, ...job("check_failed"), type: "warning", message });
    } else resolve(deps, job("check_failed"));
    return;
  }
  if (o.status !== "failed") return;
  raise(deps, { ...base, ...job("failed_run"), type: "failure", message: `${name} failed: ${o.reason}` });
  if (o.failureKind === "destination") {
    raise(deps, {
      ...base,
      kind: "destination_unreachable",
      destinationId: config.destinationId,
      type: "failure",
      message: `destination of ${name} cannot be used: ${o.reason}`,
    });
  }
}

export function recordOutcome(
  deps: OutcomeDeps,
  log: BackupLogRow,
  config: BackupConfigRecord,
  started: number,
  o: Outcome,
): void {
  const end = deps.clock.now();
  updateLog(deps.db, log.id, {
    status: o.status,
    reason: o.reason,
    endTime: end,
    durationMs: end - started,
    snapshotId: o.snapshotId,
    filesProcessed: o.filesProcessed,
    filesSkipped: o.filesSkipped,
    totalBytes: o.totalBytes,
    bytesTransferred: o.bytesTransferred,
    errors: JSON.stringify(o.errors),
  });
  if (o.pruned) {
    deps.db
      .update(destinations)
      .set({ lastPruneAt: end })
      .where(eq(destinations.id, config.destinationId))
      .run();
  }
  updateAlerts(deps, log, config, o);
  announceRunEnd(deps.notify, config, log.id, o.status);
  deps.bus.publish({
    type: "run.finished",
    userId: log.userId,
    configId: config.id,
    logId: log.id,
    at: end,
    status: o.status,
    snapshotId: o.snapshotId,
    reason: o.reason,
  });
}
