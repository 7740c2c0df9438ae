/**
 * Run records (backup_logs): one row per run, written when the run is queued and updated as it
 * goes (queued → running → completed | partial | failed | cancelled; `missed` for a scheduled
 * time the server slept through). Listing is newest first with keyset pagination over
 * (start_time, id): no OFFSET, so deep pages cost what the first one does.
 */
import { and, desc, eq, gte, inArray, lt, or, type SQL, sql } from "drizzle-orm";
import type { Db } from "./client.ts";
import { backupLogs } from "./schema.ts";

export type BackupLogRow = typeof backupLogs.$inferSelect;
export type BackupLogStatus = BackupLogRow["status"];
export type NewBackupLog = typeof backupLogs.$inferInsert;

/** Statuses of a run that has not ended yet. */
export const ACTIVE_STATUSES: readonly BackupLogStatus[] = ["queued", "running"];

/** A per-file error as stored in `errors` (at most MAX_STORED_ERRORS of them). */
export interface LogFileError {
  path: string;
  message: string;
}

/** A run with a million unreadable files must not make a multi-megabyte row; the count stays exact. */
export const MAX_STORED_ERRORS = 1000;

export function insertLog(db: Db, values: NewBackupLog): BackupLogRow {
  return db.insert(backupLogs).values(values).returning().get();
}

export function updateLog(db: Db, id: string, patch: Partial<NewBackupLog>): void {
  db.update(backupLogs).set(patch).where(eq(backupLogs.id, id)).run();
}

export function findLog(db: Db, id: string): BackupLogRow | undefined {
  return db.select().from(backupLogs).where(eq(backupLogs.id, id)).get();
}

/**
 * The newest run of each config (by start time), for the jobs list. Configs without a run are
 * absent from the map.
 */
export function latestLogsByConfig(db: Db, configIds: string[]): Map<string, BackupLogRow> {
  // One index seek per job (config_id, start_time): a correlated subquery over every row of the
  // jobs cost a scan of their whole history (seconds with 100,000 runs).
  const out = new Map<string, BackupLogRow>();
  for (const configId of new Set(configIds)) {
    const row = db
      .select()
      .from(backupLogs)
      .where(eq(backupLogs.configId, configId))
      .orderBy(desc(backupLogs.startTime), desc(backupLogs.id))
      .limit(1)
      .get();
    if (row) out.set(configId, row);
  }
  return out;
}

/** Rows of runs that have not ended (queued or running), oldest first. */
export function activeLogs(db: Db): BackupLogRow[] {
  return db
    .select()
    .from(backupLogs)
    .where(inArray(backupLogs.status, [...ACTIVE_STATUSES]))
    .orderBy(backupLogs.startTime)
    .all();
}

export interface LogQuery {
  userId?: string;
  configId?: string;
  status?: BackupLogStatus;
  /** Runs that started at or after this time (ms). */
  from?: number;
  /** Runs that started before this time (ms). */
  to?: number;
  /** 1–200, default 50. */
  limit?: number;
  /** From a previous page's nextCursor. */
  cursor?: string | null;
}

export interface LogPage {
  items: BackupLogRow[];
  /** Pass back as `cursor` for the next (older) page; null on the last page. */
  nextCursor: string | null;
}

/** Opaque cursor: base64url of "startTime:id" of the last row of a page. */
export function encodeCursor(row: { startTime: number; id: string }): string {
  return Buffer.from(`${row.startTime}:${row.id}`).toString("base64url");
}

/** The position a cursor names, or null when it is malformed. */
export function decodeCursor(cursor: string): { startTime: number; id: string } | null {
  const text = Buffer.from(cursor, "base64url").toString("utf8");
  const m = /^(\d{1,16}):([a-z0-9]{1,64})$/.exec(text);
  return m ? { startTime: Number(m[1]), id: m[2] as string } : null;
}

/**
 * The status filter. Without a user or job (an admin's whole history) SQLite would pick the
 * status index and sort every matching row for each page; the unary `+` keeps that term off the
 * index, so the page walks (start_time, id) newest first and stops after `limit` matches.
 */
function statusCondition(query: LogQuery): SQL | undefined {
  if (!query.status) return undefined;
  if (query.userId || query.configId) return eq(backupLogs.status, query.status);
  return sql`+${backupLogs.status} = ${query.status}`;
}

/** Runs newest first, filtered, one page at a time. A malformed cursor reads as the first page. */
export function listLogs(db: Db, query: LogQuery = {}): LogPage {
  const limit = Math.min(Math.max(query.limit ?? 50, 1), 200);
  const after = query.cursor ? decodeCursor(query.cursor) : null;
  const conditions: (SQL | undefined)[] = [
    query.userId ? eq(backupLogs.userId, query.userId) : undefined,
    query.configId ? eq(backupLogs.configId, query.configId) : undefined,
    query.status ? statusCondition(query) : undefined,
    query.from !== undefined ? gte(backupLogs.startTime, query.from) : undefined,
    query.to !== undefined ? lt(backupLogs.startTime, query.to) : undefined,
    after
      ? or(
          lt(backupLogs.startTime, after.startTime),
          and(eq(backupLogs.startTime, after.startTime), lt(backupLogs.id, after.id)),
        )
      : undefined,
  ];
  const rows = db
    .select()
    .from(backupLogs)
    .where(and(...conditions.filter((c) => c !== undefined)))
    .orderBy(desc(backupLogs.startTime), desc(backupLogs.id))
    .limit(limit + 1)
    .all();
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
}

/** The stored per-file errors of a run (an empty list for a malformed column). */
export function logErrors(row: BackupLogRow): LogFileError[] {
  try {
    const parsed = JSON.parse(row.errors) as unknown;
    return Array.isArray(parsed) ? (parsed as LogFileError[]) : [];
  } catch {
    return [];
  }
}

/** The API's JSON shape of a run (ISO times, duration in ms). */
export function logJson(row: BackupLogRow) {
  return {
    id: row.id,
    configId: row.configId,
    status: row.status,
    startTime: new Date(row.startTime).toISOString(),
    endTime: row.endTime === null ? null : new Date(row.endTime).toISOString(),
    filesProcessed: row.filesProcessed,
    filesSkipped: row.filesSkipped,
    totalBytes: row.totalBytes,
    bytesTransferred: row.bytesTransferred,
    errors: logErrors(row),
    duration: row.durationMs,
    snapshotId: row.snapshotId,
    trigger: row.trigger,
    reason: row.reason,
    scheduledFor: row.scheduledFor === null ? null : new Date(row.scheduledFor).toISOString(),
    kind: row.kind,
    /** What a check or drill found (verify-protocol.ts CheckDetails / DrillDetails); null otherwise. */
    details: row.details === null ? null : (JSON.parse(row.details) as unknown),
  };
}

export type BackupLogJson = ReturnType<typeof logJson>;
