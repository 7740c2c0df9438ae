/**
 * Opens the embedded SQLite database: WAL, synchronous=NORMAL, foreign keys on, a busy timeout
 * so the CLI and the server can share the file, and the embedded migrations applied.
 */
import { Database } from "bun:sqlite";
import { accessSync, constants, mkdirSync } from "node:fs";
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

/** Creates the data dir if needed (mode 0700) and checks it is writable. */
export function ensureDataDir(dataDir: string): void {
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    accessSync(dataDir, constants.W_OK | constants.R_OK | constants.X_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "";
    throw new DataDirError(
      `data directory ${dataDir} is not writable (${code || (error as Error).message}); choose another with --data-dir or BACKAPP_DATA_DIR`,
    );
  }
}

export function openDatabase(dataDir: string): OpenedDatabase {
  ensureDataDir(dataDir);
  const path = join(dataDir, "backapp.db");
  let sqlite: Database;
  try {
    sqlite = new Database(path, { create: true, strict: true });
  } catch (error) {
    throw wrapError(`open database ${path}`, error);
  }
  try {
    sqlite.run("PRAGMA busy_timeout = 5000");
    sqlite.run("PRAGMA journal_mode = WAL");
    sqlite.run("PRAGMA synchronous = NORMAL");
    sqlite.run("PRAGMA foreign_keys = ON");
    applyMigrations(sqlite, migrations);
  } catch (error) {
    sqlite.close();
    if (error instanceof BackappError) throw error;
    throw wrapError(`open database ${path}`, error);
  }
  return { db: createDrizzle(sqlite), sqlite, path, close: () => sqlite.close() };
}
