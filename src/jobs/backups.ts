/**
 * What the backups API and pages share: which runs a principal may see (their own; an admin
 * everyone's; another user's id is "not found"), starting and cancelling a run with an audit
 * entry, and listing runs.
 */
import { audit } from "../auth/accounts.ts";
import type { ActionContext } from "../auth/deps.ts";
import { isAdmin, type Principal, principalOf } from "../auth/permissions.ts";
import { findConfigRecord } from "../db/backup-configs.ts";
import { type BackupLogRow, findLog, type LogPage, type LogQuery, listLogs } from "../db/backup-logs.ts";
import type { Db } from "../db/client.ts";
import type { UserRow } from "../db/users.ts";
import type { Clock } from "../util/clock.ts";
import { NotFoundError } from "../util/errors.ts";
import type { JobService } from "./service.ts";

export interface BackupsDeps {
  db: Db;
  clock: Clock;
  jobs: JobService;
}

/** The principal of a signed-in request; NotFoundError when there is none (guards prevent it). */
export function principalFor(user: UserRow | null): Principal {
  if (!user) throw new NotFoundError("not signed in");
  return principalOf(user);
}

/** The run when `p` may see it; NotFoundError otherwise (also for another user's id). */
export function visibleLog(db: Db, p: Principal, id: string): BackupLogRow {
  const row = findLog(db, id);
  if (!row || (row.userId !== p.id && !isAdmin(p))) throw new NotFoundError("backup run not found");
  return row;
}

/** Runs newest first: a user's own, an admin's everyone's. */
export function visibleLogs(db: Db, p: Principal, query: Omit<LogQuery, "userId">): LogPage {
  return listLogs(db, { ...query, ...(isAdmin(p) ? {} : { userId: p.id }) });
}

/** Queues a run of a job `p` may see; audited. */
export async function startRun(
  deps: BackupsDeps,
  p: Principal,
  configId: string,
  ctx: ActionContext,
): Promise<{ logId: string }> {
  // The jobs module's visibleConfig rule (owner or admin), without loading its form schemas.
  const job = findConfigRecord(deps.db, configId);
  if (!job || (job.userId !== p.id && !isAdmin(p))) throw new NotFoundError("backup job not found");
  const { logId } = await deps.jobs.runNow(job.id, ctx.actor ?? null);
  audit(deps, "backup.run", { ...ctx, target: `config:${job.id}`, details: { logId, name: job.name } });
  return { logId };
}

/** Cancels a run `p` may see; false when it had already ended. Audited when it did cancel. */
export async function cancelRun(
  deps: BackupsDeps,
  p: Principal,
  logId: string,
  ctx: ActionContext,
): Promise<boolean> {
  const log = visibleLog(deps.db, p, logId);
  const cancelled = await deps.jobs.cancel(log.id, ctx.actor ?? null);
  if (cancelled)
    audit(deps, "backup.cancel", { ...ctx, target: `log:${log.id}`, details: { configId: log.configId } });
  return cancelled;
}
