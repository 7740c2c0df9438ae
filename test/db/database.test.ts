import { Database } from "bun:sqlite";
import { readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { checkWritable, DataDirError, openDatabase } from "../../src/db/client.ts";
import { applyMigrations, DatabaseTooNewError } from "../../src/db/migrate.ts";
import { migrations } from "../../src/generated/embedded.ts";
import { tempDir } from "../helpers/temp.ts";

const dirs: { cleanup(): void }[] = [];
function dir() {
  const d = tempDir();
  dirs.push(d);
  return d.path;
}
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});

describe("openDatabase", () => {
  it("creates backapp.db in WAL mode with foreign keys and the schema", () => {
    const d = dir();
    const opened = openDatabase(join(d, "nested", "data"));
    try {
      const q = (sql: string) => opened.sqlite.query(sql).get() as Record<string, unknown>;
      expect(q("PRAGMA journal_mode").journal_mode).toBe("wal");
      expect(q("PRAGMA foreign_keys").foreign_keys).toBe(1);
      const tables = (
        opened.sqlite.query("SELECT name FROM sqlite_master WHERE type='table'").all() as { name: string }[]
      ).map((t) => t.name);
      for (const t of [
        "users",
        "sessions",
        "destinations",
        "backup_configs",
        "backup_logs",
        "alerts",
        "settings",
      ]) {
        expect(tables).toContain(t);
      }
      const indexes = (
        opened.sqlite.query("SELECT name FROM sqlite_master WHERE type='index'").all() as { name: string }[]
      ).map((t) => t.name);
      expect(indexes).toContain("backup_logs_config_time_idx");
      expect(indexes).toContain("alerts_user_ack_idx");
    } finally {
      opened.close();
    }
  });

  it("applies migrations once", () => {
    const d = dir();
    openDatabase(d).close();
    const again = openDatabase(d);
    try {
      const rows = again.sqlite.query("SELECT tag FROM schema_migrations").all();
      expect(rows).toHaveLength(migrations.length);
      expect(applyMigrations(again.sqlite, migrations).applied).toEqual([]);
    } finally {
      again.close();
    }
  });

  it("enforces foreign keys", () => {
    const opened = openDatabase(dir());
    try {
      expect(() =>
        opened.sqlite.run(
          "INSERT INTO sessions (id, secret_hash, user_id, csrf_token, last_seen_at, expires_at) VALUES ('s','h','nobody','c',1,2)",
        ),
      ).toThrow(/FOREIGN KEY/);
    } finally {
      opened.close();
    }
  });

  it("refuses a database written by a newer version", () => {
    const d = dir();
    openDatabase(d).close();
    const raw = new Database(join(d, "backapp.db"));
    raw.run("INSERT INTO schema_migrations (idx, tag, applied_at) VALUES (999, '0999_future', 0)");
    raw.close();
    expect(() => openDatabase(d)).toThrow(DatabaseTooNewError);
    expect(() => openDatabase(d)).toThrow(/newer backapp/);
  });

  it("refuses an unwritable data dir with a clear message", () => {
    const d = dir();
    const file = join(d, "a-file");
    writeFileSync(file, "x");
    expect(() => openDatabase(join(file, "data"))).toThrow(DataDirError);
    expect(() => openDatabase(join(file, "data"))).toThrow(/is not writable .*--data-dir/);
  });
});

describe("openDatabase: files and permissions", () => {
  it("creates backapp.db readable by its owner only", () => {
    const d = dir();
    openDatabase(d).close();
    expect(statSync(join(d, "backapp.db")).mode & 0o777).toBe(0o600);
  });

  it("names a data dir that is a regular file", () => {
    const file = join(dir(), "a-file");
    writeFileSync(file, "x");
    expect(() => openDatabase(file)).toThrow(
      /data directory .*a-file is not writable \(it exists and is not a directory/,
    );
  });

  it("refuses a database it can only read, before anything else fails later", () => {
    const d = dir();
    openDatabase(d).close();
    const readOnly = new Database(join(d, "backapp.db"), { readonly: true });
    try {
      expect(() => checkWritable(readOnly, "the-db")).toThrow(DataDirError);
      expect(() => checkWritable(readOnly, "the-db")).toThrow(/database the-db is read-only/);
    } finally {
      readOnly.close();
    }
  });

  it("leaves no WAL behind when closed", () => {
    const d = dir();
    const opened = openDatabase(d);
    opened.sqlite.run("INSERT INTO settings (key, value, updated_at) VALUES ('k', '\"v\"', 1)");
    opened.close();
    expect(readdirSync(d).filter((f) => f.endsWith("-wal") || f.endsWith("-shm"))).toEqual([]);
    const again = openDatabase(d);
    expect(again.sqlite.query("SELECT value FROM settings WHERE key = 'k'").get()).toEqual({ value: '"v"' });
    again.close();
  });
});

describe("applyMigrations", () => {
  it("is all or nothing: a failing migration leaves the database as it was", () => {
    const sqlite = new Database(join(dir(), "m.db"));
    try {
      const bad = [
        { idx: 0, tag: "0000_good", sql: "CREATE TABLE good (id TEXT)" },
        {
          idx: 1,
          tag: "0001_bad",
          sql: "CREATE TABLE fine (id TEXT);\n--> statement-breakpoint\nNOT SQL AT ALL",
        },
      ];
      expect(() => applyMigrations(sqlite, bad)).toThrow();
      expect(sqlite.query("SELECT count(*) AS n FROM schema_migrations").get()).toEqual({ n: 0 });
      expect(sqlite.query("SELECT name FROM sqlite_master WHERE name IN ('good', 'fine')").all()).toEqual([]);
      expect(applyMigrations(sqlite, bad.slice(0, 1)).applied).toEqual(["0000_good"]);
      expect(applyMigrations(sqlite, bad.slice(0, 1)).applied).toEqual([]);
    } finally {
      sqlite.close();
    }
  });
});
