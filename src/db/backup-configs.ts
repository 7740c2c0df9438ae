/**
 * Queries on backup jobs (table backup_configs). The JSON columns are read back into the issue's
 * job shape (BackupConfigRecord); what is written was validated by src/jobs/config-schema.ts, and
 * reading is tolerant (missing keys take their defaults) so an older row never breaks a page.
 * Columns: options {type, compression, compressionLevel, bandwidth}, retention {retentionDays,
 * keep*}, schedule {cronExpression, timezone}, sources [{path, includePatterns, excludePatterns}],
 * hooks {pre, post}.
 */
import { and, asc, eq, type SQL } from "drizzle-orm";
import type { Db } from "./client.ts";
import { openHealthcheckUrl, sealHealthcheckUrl } from "./job-secrets.ts";
import { backupConfigs } from "./schema.ts";

export type BackupConfigRow = typeof backupConfigs.$inferSelect;

export interface HookSpec {
  command: string;
  timeoutSeconds: number;
  /** Pre hooks only: a failing command stops the run (default true). */
  abortOnFailure?: boolean;
}

export interface RetentionRules {
  keepLast?: number;
  keepHourly?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  keepYearly?: number;
}

export interface SourceSpec {
  path: string;
  includePatterns: string[];
  excludePatterns: string[];
}

export interface JobOptions {
  type: "full" | "incremental";
  compression: boolean;
  compressionLevel: number;
  retentionDays: number | null;
  retention: RetentionRules;
  /** Upload limit in KB/s; null = unlimited. */
  bandwidth: number | null;
  /** Healthchecks-style ping URL called on start, success and failure; null = none. */
  healthcheckUrl?: string | null;
  /** Alert `no_recent_success` after this many hours without a successful run; null = 2× the schedule's interval. */
  alertAfterHours?: number | null;
}

/** The job JSON shape, parsed, plus the owner (encryption is reported from the destination). */
export interface BackupConfigRecord {
  id: string;
  userId: string;
  name: string;
  enabled: boolean;
  sources: SourceSpec[];
  destinationId: string;
  /** cronExpression "" = manual only. */
  schedule: { cronExpression: string; timezone: string };
  options: JobOptions;
  hooks: { pre?: HookSpec; post?: HookSpec };
  lastScheduledAt: number | null;
  createdAt: number;
  updatedAt: number;
}

/** What create/update write: the record without id, owner and times. */
export type BackupConfigInput = Omit<
  BackupConfigRecord,
  "id" | "userId" | "lastScheduledAt" | "createdAt" | "updatedAt"
>;

export const RETENTION_KEYS = [
  "keepLast",
  "keepHourly",
  "keepDaily",
  "keepWeekly",
  "keepMonthly",
  "keepYearly",
] as const;

function parse(text: string | null | undefined): unknown {
  try {
    return JSON.parse(text ?? "null");
  } catch {
    return null;
  }
}

function json(text: string | null | undefined): Record<string, unknown> {
  const value = parse(text);
  return value && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((s) => typeof s === "string") : []);

function readSources(text: string): SourceSpec[] {
  const list = parse(text);
  if (!Array.isArray(list)) return [];
  return list.map((s: Record<string, unknown>) => ({
    path: String(s.path ?? ""),
    includePatterns: strings(s.includePatterns),
    excludePatterns: strings(s.excludePatterns),
  }));
}

function readHook(v: unknown, pre: boolean): HookSpec | undefined {
  if (!v || typeof v !== "object") return undefined;
  const h = v as Record<string, unknown>;
  if (typeof h.command !== "string" || h.command === "") return undefined;
  const hook: HookSpec = { command: h.command, timeoutSeconds: num(h.timeoutSeconds) ?? 300 };
  if (pre) hook.abortOnFailure = h.abortOnFailure !== false;
  return hook;
}

function readOptions(db: Db, row: BackupConfigRow): JobOptions {
  const o = json(row.options);
  const r = json(row.retention);
  const retention: RetentionRules = {};
  for (const key of RETENTION_KEYS) {
    const n = num(r[key]);
    if (n !== null) retention[key] = n;
  }
  return {
    type: o.type === "full" ? "full" : "incremental",
    compression: o.compression !== false,
    compressionLevel: num(o.compressionLevel) ?? 3,
    retentionDays: num(r.retentionDays),
    retention,
    bandwidth: num(o.bandwidth),
    healthcheckUrl: openHealthcheckUrl(db, row.id, o.healthcheckUrl),
    alertAfterHours: num(o.alertAfterHours),
  };
}

export function toConfigRecord(db: Db, row: BackupConfigRow): BackupConfigRecord {
  const schedule = json(row.schedule);
  const hooks = json(row.hooks);
  const pre = readHook(hooks.pre, true);
  const post = readHook(hooks.post, false);
  return {
    id: row.id,
    userId: row.userId,
    name: row.name,
    enabled: row.enabled,
    sources: readSources(row.sources),
    destinationId: row.destinationId,
    schedule: {
      cronExpression: typeof schedule.cronExpression === "string" ? schedule.cronExpression : "",
      timezone: typeof schedule.timezone === "string" ? schedule.timezone : "UTC",
    },
    options: readOptions(db, row),
    hooks: { ...(pre ? { pre } : {}), ...(post ? { post } : {}) },
    lastScheduledAt: row.lastScheduledAt,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

/** The JSON columns of job `id`'s input (its healthcheck URL sealed: job-secrets.ts). */
function columns(db: Db, id: string, input: BackupConfigInput) {
  const { retentionDays, retention, ...rest } = input.options;
  const options = { ...rest, healthcheckUrl: sealHealthcheckUrl(db, id, rest.healthcheckUrl ?? null) };
  return {
    name: input.name,
    enabled: input.enabled,
    destinationId: input.destinationId,
    sources: JSON.stringify(input.sources),
    schedule: JSON.stringify(input.schedule),
    options: JSON.stringify(options),
    retention: JSON.stringify({ ...retention, retentionDays }),
    hooks: JSON.stringify(input.hooks),
  };
}

export function findConfigRecord(db: Db, id: string): BackupConfigRecord | undefined {
  const row = db.select().from(backupConfigs).where(eq(backupConfigs.id, id)).get();
  return row ? toConfigRecord(db, row) : undefined;
}

/** Jobs by name (then id), optionally only one user's, only enabled ones, or one destination's. */
export function listConfigRecords(
  db: Db,
  filter: { userId?: string; enabled?: boolean; destinationId?: string } = {},
): BackupConfigRecord[] {
  const where: SQL[] = [];
  if (filter.userId !== undefined) where.push(eq(backupConfigs.userId, filter.userId));
  if (filter.enabled !== undefined) where.push(eq(backupConfigs.enabled, filter.enabled));
  if (filter.destinationId !== undefined) where.push(eq(backupConfigs.destinationId, filter.destinationId));
  return db
    .select()
    .from(backupConfigs)
    .where(and(...where))
    .orderBy(asc(backupConfigs.name), asc(backupConfigs.id))
    .all()
    .map((row) => toConfigRecord(db, row));
}

export function insertConfigRecord(
  db: Db,
  id: string,
  userId: string,
  input: BackupConfigInput,
  now: number,
) {
  db.insert(backupConfigs)
    .values({ id, userId, ...columns(db, id, input), createdAt: now, updatedAt: now })
    .run();
  return findConfigRecord(db, id) as BackupConfigRecord;
}

/** Replaces the job's fields; lastScheduledAt is kept (the scheduler owns it). */
export function replaceConfigRecord(db: Db, id: string, input: BackupConfigInput, now: number) {
  db.update(backupConfigs)
    .set({ ...columns(db, id, input), updatedAt: now })
    .where(eq(backupConfigs.id, id))
    .run();
  return findConfigRecord(db, id);
}

export function setConfigEnabled(db: Db, id: string, enabled: boolean, now: number): void {
  db.update(backupConfigs).set({ enabled, updatedAt: now }).where(eq(backupConfigs.id, id)).run();
}

export function deleteConfigRecord(db: Db, id: string): void {
  db.delete(backupConfigs).where(eq(backupConfigs.id, id)).run();
}

/** Records the last scheduled fire time the scheduler handled (ran, queued or recorded as missed). */
export function setLastScheduledAt(db: Db, id: string, at: number): void {
  db.update(backupConfigs).set({ lastScheduledAt: at }).where(eq(backupConfigs.id, id)).run();
}
