/**
 * Restores started from the server (issue 10): checked at the edge (the destination and snapshot
 * are the user's, the folder inside their allowed roots — admins anywhere — judged also with
 * symbolic links resolved), recorded as a backup_logs row of kind "restore", queued with the
 * backups (JobService.enqueueTask) and run in a child process (restore-child.ts), so decrypting,
 * decompressing and writing never run on the event loop that serves pages.
 */
import { audit } from "../auth/accounts.ts";
import type { ActionContext } from "../auth/deps.ts";
import { ForbiddenError } from "../auth/errors.ts";
import { isAdmin, type Principal } from "../auth/permissions.ts";
import { type BackupLogRow, findLog, insertLog, logErrors, updateLog } from "../db/backup-logs.ts";
import type { Db } from "../db/client.ts";
import type { EventBus } from "../events/bus.ts";
import type { Clock } from "../util/clock.ts";
import { NotFoundError } from "../util/errors.ts";
import { newId } from "../util/ids.ts";
import type { Logger } from "../util/logger.ts";
import { localPathProblem } from "./destinations.ts";
import { alertOnRestoreEnd } from "./restore-alerts.ts";
import type { ExistingChoice } from "./restore-protocol.ts";
import { driveRestore, type RestoreRunDeps } from "./restore-run.ts";
import type { JobService } from "./service.ts";
import { resolveRequestPath } from "./snapshot-paths.ts";
import { findSnapshotIn, type SnapshotsDeps, visibleDestination, withRepository } from "./snapshots.ts";

export interface RestoreDeps extends SnapshotsDeps, RestoreRunDeps {
  clock: Clock;
  bus: EventBus;
  logger: Logger;
  jobs: JobService;
}

export interface RestoreRequest {
  destinationId: string;
  snapshotId: string;
  paths: string[];
  target: string;
  existing: ExistingChoice;
}

/** The restore when `p` may see it (its owner or an admin); NotFoundError otherwise. */
export function visibleRestore(db: Db, p: Principal, id: string): BackupLogRow {
  const row = findLog(db, id);
  if (row?.kind !== "restore" || (row.userId !== p.id && !isAdmin(p))) {
    throw new NotFoundError("restore not found");
  }
  return row;
}

/** The API's JSON of a restore. */
export function restoreJson(row: BackupLogRow) {
  return {
    id: row.id,
    status: row.status,
    filesRestored: row.filesProcessed,
    bytesRestored: row.totalBytes,
    errors: logErrors(row),
    startTime: new Date(row.startTime).toISOString(),
    endTime: row.endTime === null ? null : new Date(row.endTime).toISOString(),
    destinationId: row.destinationId,
    snapshotId: row.snapshotId,
    filesSkipped: row.filesSkipped,
    reason: row.reason,
  };
}

/** 403 unless the folder is inside p's allowed roots, as written and with links resolved. */
function checkTarget(p: Principal, target: string): void {
  const problem = localPathProblem(p, target);
  if (problem) throw new ForbiddenError(problem, { target: problem });
}

/** Queues a restore; resolves with its id once the row is written (202). Audited. */
export async function startRestore(
  deps: RestoreDeps,
  p: Principal,
  req: RestoreRequest,
  ctx: ActionContext,
): Promise<{ restoreId: string }> {
  visibleDestination(deps.db, p, req.destinationId);
  checkTarget(p, req.target);
  const paths = await Promise.all(req.paths.map((path) => resolveRequestPath({ path })));
  const snapshot = await withRepository(deps, p, req.destinationId, (opened) =>
    findSnapshotIn(opened, req.snapshotId),
  );
  const log = insertLog(deps.db, {
    id: newId(),
    kind: "restore",
    configId: null,
    userId: p.id,
    status: "queued",
    trigger: "manual",
    destinationId: req.destinationId,
    snapshotId: snapshot.id,
    startTime: deps.clock.now(),
  });
  const ids = { userId: p.id, configId: null, logId: log.id };
  deps.bus.publish({ type: "run.queued", ...ids, at: deps.clock.now(), trigger: "manual" });
  // Checked again by the child when it opens the folder: it may have become a symlink meanwhile.
  const within = isAdmin(p) ? {} : { within: [...p.allowedRoots] };
  const spec = { snapshotId: snapshot.id, paths, folder: req.target, ...within, existing: req.existing };
  deps.jobs.enqueueTask({
    logId: log.id,
    destinationId: req.destinationId,
    run: (signal) => driveRestore(deps, log, spec, signal),
    endQueued: (reason) => endQueuedRestore(deps, log, reason),
  });
  audit(deps, "restore.start", {
    ...ctx,
    target: `log:${log.id}`,
    details: {
      destinationId: req.destinationId,
      snapshotId: snapshot.id,
      target: req.target,
      existing: req.existing,
    },
  });
  return { restoreId: log.id };
}

function endQueuedRestore(deps: RestoreDeps, log: BackupLogRow, reason: string): void {
  const now = deps.clock.now();
  updateLog(deps.db, log.id, { status: "cancelled", reason, endTime: now, durationMs: 0 });
  alertOnRestoreEnd(deps, log, { status: "cancelled", reason, errorCount: 0 });
  deps.bus.publish({
    type: "run.finished",
    userId: log.userId,
    configId: null,
    logId: log.id,
    at: now,
    status: "cancelled",
    snapshotId: log.snapshotId,
    reason,
  });
}

/** Cancels a restore `p` may see; false when it had already ended. */
export async function cancelRestore(deps: RestoreDeps, p: Principal, id: string, ctx: ActionContext) {
  const row = visibleRestore(deps.db, p, id);
  const cancelled = await deps.jobs.cancel(row.id, ctx.actor ?? null);
  if (cancelled) audit(deps, "restore.cancel", { ...ctx, target: `log:${row.id}` });
  return cancelled;
}
