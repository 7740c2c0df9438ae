/**
 * Backup jobs: create, replace, enable/disable and delete, shared by the JSON API and the pages.
 * Every id is judged with ownedOrNotFound (another user's job reads as missing); every change is
 * audited. Access rules: sources inside the actor's allowed roots (403, field "sources.N.path"),
 * shell hooks only from admins (403, field "hooks"), and the destination must belong to the job's
 * owner (400, field "destinationId", the same answer for a foreign id as for an unknown one).
 */
import { audit } from "../auth/accounts.ts";
import type { ActionContext } from "../auth/deps.ts";
import { FieldError, ForbiddenError } from "../auth/errors.ts";
import {
  configAccessProblems,
  isAdmin,
  ownedOrNotFound,
  type Principal,
  principalOf,
} from "../auth/permissions.ts";
import {
  type BackupConfigInput,
  type BackupConfigRecord,
  deleteConfigRecord,
  findConfigRecord,
  insertConfigRecord,
  listConfigRecords,
  replaceConfigRecord,
  setConfigEnabled,
} from "../db/backup-configs.ts";
import { activeLogs } from "../db/backup-logs.ts";
import type { Db } from "../db/client.ts";
import { type DestinationRow, findDestinationRow, storedSettings } from "../db/destinations.ts";
import { findUserById } from "../db/users.ts";
import type { Clock } from "../util/clock.ts";
import { NotFoundError, ValidationError } from "../util/errors.ts";
import { newId } from "../util/ids.ts";
import { type ConfigInput, toStoredInput } from "./config-schema.ts";

export interface ConfigDeps {
  db: Db;
  clock: Clock;
}

export const UNKNOWN_DESTINATION = "Unknown destination: choose one of your destinations.";

/** The job as the API answers it (the JSON shape); `encryption` comes from the destination. */
export function configJson(db: Db, record: BackupConfigRecord) {
  const { userId: _u, lastScheduledAt: _l, ...rest } = record;
  return {
    ...rest,
    options: {
      ...record.options,
      encryption: destinationEncrypts(findDestinationRow(db, record.destinationId)),
    },
    createdAt: new Date(record.createdAt).toISOString(),
    updatedAt: new Date(record.updatedAt).toISOString(),
  };
}
export type ConfigJson = ReturnType<typeof configJson>;

/** Whether the destination's repository encrypts (true unless the destination says otherwise). */
function destinationEncrypts(row: DestinationRow | undefined): boolean {
  if (!row) return true;
  try {
    return storedSettings(row).encrypted !== false;
  } catch {
    return true;
  }
}

/** The jobs `p` may see: an admin sees everyone's, a user their own. */
export function visibleConfigs(db: Db, p: Principal): BackupConfigRecord[] {
  return listConfigRecords(db, isAdmin(p) ? {} : { userId: p.id });
}

/** The job when `p` may see it; NotFoundError otherwise. */
export function visibleConfig(db: Db, p: Principal, id: string): BackupConfigRecord {
  return ownedOrNotFound(p, findConfigRecord(db, id), "backup job");
}

/** The destinations a job of `ownerId` may use. */
export function usableDestination(db: Db, ownerId: string, id: string): DestinationRow | undefined {
  const row = findDestinationRow(db, id);
  return row && row.userId === ownerId ? row : undefined;
}

/** The principal a job's paths are judged for: its owner (the job runs on the owner's behalf). */
export function ownerPrincipal(db: Db, actor: Principal, ownerId: string): Principal {
  if (ownerId === actor.id) return actor;
  const owner = findUserById(db, ownerId);
  if (!owner) throw new NotFoundError("backup job not found");
  return principalOf(owner);
}

/**
 * Throws ForbiddenError (403) for sources outside the owner's allowed roots (an admin editing a
 * user's job grants nothing: widen the user's roots instead) or hooks from a non-admin actor, and
 * FieldError (400) for a destination the owner does not have. `keptHooks` are hooks the job
 * already has: a non-admin may send them back unchanged (or omit them, see mergeHooks).
 */
export function assertJobAllowed(
  db: Db,
  actor: Principal,
  owner: Principal,
  input: BackupConfigInput,
  keptHooks: BackupConfigInput["hooks"] = {},
): void {
  const forbidden: Record<string, string> = {};
  input.sources.forEach((source, i) => {
    const problem = configAccessProblems(owner, { paths: [source.path] }).paths;
    if (!problem) return;
    forbidden[`sources.${i}.path`] =
      owner === actor ? problem : `${source.path} is outside the folders allowed for the job's owner.`;
  });
  const newHooks = JSON.stringify(input.hooks) !== JSON.stringify(keptHooks);
  const hooks = newHooks ? Object.values(input.hooks) : [];
  const hookProblem = configAccessProblems(actor, { paths: [], hooks }).hooks;
  if (hookProblem) forbidden.hooks = hookProblem;
  const first = Object.values(forbidden)[0];
  if (first !== undefined) throw new ForbiddenError(first, forbidden);
  if (!usableDestination(db, owner.id, input.destinationId)) {
    throw new FieldError({ destinationId: UNKNOWN_DESTINATION });
  }
}

/**
 * Hooks are admin business: when a non-admin saves a job without hooks, the job keeps the hooks
 * an admin gave it (a user cannot drop a pre-backup database dump by editing the job's name).
 */
function mergeHooks(p: Principal, input: BackupConfigInput, existing: BackupConfigRecord) {
  if (isAdmin(p) || Object.keys(input.hooks).length > 0) return input;
  return { ...input, hooks: existing.hooks };
}

/** What the audit log keeps of a job: no hook commands (they may hold credentials). */
function auditDetails(record: BackupConfigRecord) {
  return {
    name: record.name,
    enabled: record.enabled,
    destinationId: record.destinationId,
    sources: record.sources.map((s) => s.path),
    schedule: record.schedule,
    hooks: Object.keys(record.hooks),
  };
}

export function createConfig(deps: ConfigDeps, p: Principal, parsed: ConfigInput, ctx: ActionContext) {
  const input = toStoredInput(parsed);
  assertJobAllowed(deps.db, p, p, input);
  const record = insertConfigRecord(deps.db, newId(), p.id, input, deps.clock.now());
  audit(deps, "config.create", { ...ctx, target: `config:${record.id}`, details: auditDetails(record) });
  return record;
}

/** Full replace (PUT): omitted options take their defaults again. NotFoundError for another user's id. */
export function updateConfig(
  deps: ConfigDeps,
  p: Principal,
  id: string,
  parsed: ConfigInput,
  ctx: ActionContext,
) {
  const existing = visibleConfig(deps.db, p, id);
  const input = mergeHooks(p, toStoredInput(parsed), existing);
  assertJobAllowed(deps.db, p, ownerPrincipal(deps.db, p, existing.userId), input, existing.hooks);
  const record = replaceConfigRecord(deps.db, id, input, deps.clock.now()) as BackupConfigRecord;
  audit(deps, "config.update", { ...ctx, target: `config:${id}`, details: auditDetails(record) });
  return record;
}

export function setConfigEnabledFor(
  deps: ConfigDeps,
  p: Principal,
  id: string,
  enabled: boolean,
  ctx: ActionContext,
) {
  visibleConfig(deps.db, p, id);
  setConfigEnabled(deps.db, id, enabled, deps.clock.now());
  audit(deps, enabled ? "config.enable" : "config.disable", { ...ctx, target: `config:${id}` });
  return findConfigRecord(deps.db, id) as BackupConfigRecord;
}

/** ValidationError while a run of the job is queued or running (its record would vanish under it). */
export function deleteConfig(deps: ConfigDeps, p: Principal, id: string, ctx: ActionContext): void {
  const existing = visibleConfig(deps.db, p, id);
  if (activeLogs(deps.db).some((log) => log.configId === id)) {
    throw new ValidationError(
      "A run of this job is queued or running: cancel it or wait for it to end, then delete.",
    );
  }
  deleteConfigRecord(deps.db, id);
  audit(deps, "config.delete", { ...ctx, target: `config:${id}`, details: { name: existing.name } });
}
