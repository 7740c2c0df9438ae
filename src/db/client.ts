/**
 * Opens the embedded SQLite database: WAL, synchronous=NORMAL, foreign keys on, a busy timeout
 * so the CLI and the server can share the file, and the embedded migrations applied.
 */
import { Database } from "bun:sqlite";
import { existsSync, mkdirSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { drizzle } from "drizzle-orm/bun-sqlite";
import { migrations } from "../generated/embedded.ts";
import { BackappError, wrapError } from "../util/errors.ts";
import { applyMigrations } from "./migrate.ts";
import * as schema from "./schema.ts";

export type Db = ReturnType<typeof createDrizzle>;

function createDrizzle(sqlite: Database) {
  return drizzle({ client: sqlite, schema });
}

export interface OpenedDatabase {
  db: Db;
  sqlite: Database;
  path: string;
  close(): void;
}

export class DataDirError extends BackappError {}

const REASONS: Record<string, string> = {
  EACCES: "permission denied",
  EPERM: "permission denied",
  EROFS: "read-only file system",
  ENOTDIR: "a parent is not a directory",
  EEXIST: "it exists and is not a directory",
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
  ENOENT: "a parent does not exist",
};

function dataDirError(dataDir: string, error: unknown): DataDirError {
  const code = (error as NodeJS.ErrnoException).code ?? "";
  const reason = REASONS[code] ?? (error as Error).message;
  return new DataDirError(
    `data directory ${dataDir} is not writable (${reason}${code && REASONS[code] ? `, ${code}` : ""}); choose another with --data-dir or BACKAPP_DATA_DIR`,
  );
}

/**
 * Creates the data dir if needed (mode 0700) and proves it writable by creating and removing a
 * file: permission bits say nothing for root, ACLs or read-only mounts.
 */
export function ensureDataDir(dataDir: string): void {
  const probe = join(dataDir, `.write-test-${process.pid}-${Date.now()}`);
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    if (!statSync(dataDir).isDirectory())
      throw Object.assign(new Error("not a directory"), { code: "EEXIST" });
    writeFileSync(probe, "", { flag: "wx", mode: 0o600 });
    unlinkSync(probe);
  } catch (error) {
    throw dataDirError(dataDir, error);
  }
}

/**
 * SQLite silently opens a file it may not write read-only; the first write would fail much later.
 * Writing the header's user_version inside a rolled-back transaction fails now instead.
 */
export function checkWritable(sqlite: Database, path: string): void {
  const { user_version: v } = sqlite.query("PRAGMA user_version").get() as { user_version: number };
  sqlite.run("BEGIN IMMEDIATE");
  try {
    sqlite.run(`PRAGMA user_version = ${Number(v)}`);
  } catch (error) {
    throw new DataDirError(
      `database ${path} is read-only (${(error as Error).message}): check its owner and permissions`,
    );
  } finally {
    sqlite.run("ROLLBACK");
  }
}

/** The data directory each open database lives in (its secret.key seals secrets in its rows). */
const dataDirs = new WeakMap<Db, string>();

/** The data directory of a database opened by openDatabase; undefined for any other. */
export function dataDirOf(db: Db): string | undefined {
  return dataDirs.get(db);
}

export function openDatabase(dataDir: string): OpenedDatabase {
  ensureDataDir(dataDir);
  const path = join(dataDir, "backapp.db");
  let sqlite: Database;
  try {
    // Sessions and secrets live here: owner-only even in a data dir others may read.
    if (!existsSync(path)) writeFileSync(path, "", { flag: "wx", mode: 0o600 });
    sqlite = new Database(path, { create: true, strict: true });
  } catch (error) {
    throw wrapError(`open database ${path}`, error);
  }
  try {
    sqlite.run("PRAGMA busy_timeout = 5000");
    sqlite.run("PRAGMA journal_mode = WAL");
    sqlite.run("PRAGMA synchronous = NORMAL");
    sqlite.run("PRAGMA foreign_keys = ON");
    checkWritable(sqlite, path);
    applyMigrations(sqlite, migrations);
  } catch (error) {
    sqlite.close();
    if (error instanceof BackappError) throw error;
    throw wrapError(`open database ${path}`, error);
  }
  const db = createDrizzle(sqlite);
  dataDirs.set(db, dataDir);
  return { db, sqlite, path, close: () => closeDatabase(sqlite) };
}

/** Copies the WAL into the database file (without waiting for readers), then closes. */
function closeDatabase(sqlite: Database): void {
  try {
    sqlite.run("PRAGMA wal_checkpoint(PASSIVE)");
  } catch {
    // Closing matters more; SQLite checkpoints again on the last close it can.
  }
  sqlite.close();
}
