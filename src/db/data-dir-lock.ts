/**
 * One server per data dir. The lock is an operating-system file lock, taken through SQLite on a
 * small `server.lock` database: the holder keeps a write transaction open for its whole life. The
 * kernel drops the lock when the process ends however it ends (SIGKILL, crash, power loss), so a
 * lock is never stale, and a reused pid (pid 1 in every container) cannot make it look held.
 * The file also records who holds it (pid, host, start time) for the refusal message.
 * CLI commands that only touch the database (user add, setup-token) don't take it: SQLite's own
 * locking covers them.
 *
 * Nothing else in this process may open server.lock with plain file calls: closing any other
 * descriptor of the file would drop the process's POSIX locks on it.
 */
import { Database } from "bun:sqlite";
import { unlinkSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { BackappError } from "../util/errors.ts";

export class DataDirLockedError extends BackappError {}

interface LockInfo {
  pid: number;
  hostname: string;
  startedAt: string;
}

export interface DataDirLock {
  /** Drops the lock; calling it again does nothing. */
  release(): void;
}

const BUSY = new Set(["SQLITE_BUSY", "SQLITE_LOCKED"]);

/** Connections holding a lock, kept reachable: a collected connection closes and drops its lock. */
const holding = new Set<Database>();

function sqliteCode(error: unknown): string {
  return String((error as { code?: unknown }).code ?? "");
}

/** The holder's record, as last committed; null when unreadable. */
function readHolder(db: Database): LockInfo | null {
  try {
    const row = db
      .query("SELECT pid, hostname, started_at AS startedAt FROM holder")
      .get() as LockInfo | null;
    return row ?? null;
  } catch {
    return null;
  }
}

function lockedError(db: Database, dataDir: string): DataDirLockedError {
  const holder = readHolder(db);
  const who = holder
    ? `another backapp server (pid ${holder.pid} on ${holder.hostname}, since ${holder.startedAt})`
    : "another backapp server";
  return new DataDirLockedError(`${who} is using ${dataDir}; stop it first or choose another --data-dir`);
}

/** Takes the write lock now or throws DataDirLockedError (no waiting). */
function begin(db: Database, dataDir: string): void {
  try {
    db.run("BEGIN IMMEDIATE");
  } catch (error) {
    if (BUSY.has(sqliteCode(error))) throw lockedError(db, dataDir);
    throw error;
  }
}

function open(path: string): Database {
  const db = new Database(path, { create: true, strict: true });
  try {
    db.run("PRAGMA busy_timeout = 0");
    db.run("PRAGMA journal_mode = DELETE");
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

function acquire(path: string, dataDir: string): Database {
  const db = open(path);
  try {
    begin(db, dataDir);
    db.run(
      "CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL, hostname TEXT NOT NULL, started_at TEXT NOT NULL)",
    );
    db.run("DELETE FROM holder");
    db.run("INSERT INTO holder (pid, hostname, started_at) VALUES (?, ?, ?)", [
      process.pid,
      hostname(),
      new Date().toISOString(),
    ]);
    db.run("COMMIT");
    // Held from here on; if another server slipped in between COMMIT and here, it holds the lock.
    begin(db, dataDir);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

export function lockDataDir(dataDir: string): DataDirLock {
  const path = join(dataDir, "server.lock");
  let db: Database;
  try {
    db = acquire(path, dataDir);
  } catch (error) {
    if (sqliteCode(error) !== "SQLITE_NOTADB") throw error;
    // A lock file from an older backapp (plain JSON): no one can hold it, replace it.
    unlinkSync(path);
    db = acquire(path, dataDir);
  }
  holding.add(db);
  return {
    release() {
      if (!holding.delete(db)) return;
      db.close(false);
    },
  };
}
