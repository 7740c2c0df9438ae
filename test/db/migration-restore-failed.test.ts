/**
 * Migration 0006 (issue 10): a channel made before restore_failed existed gets it when it already
 * wanted failed_run, and no other channel changes. Run on a real SQLite file migrated to 0005
 * first, then opened the way the server opens it.
 */
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase } from "../../src/db/client.ts";
import { applyMigrations } from "../../src/db/migrate.ts";
import { migrations } from "../../src/generated/embedded.ts";
import { tempDir } from "../helpers/temp.ts";

const dirs: { cleanup(): void }[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});

const BEFORE: Record<string, string> = {
  wantsFailures: '["failed_run","check_failed"]',
  onlySuccess: '["run_succeeded"]',
  already: '["restore_failed","failed_run"]',
  empty: "[]",
  failedRunLast: '["run_succeeded","failed_run"]',
  notJson: "not json at all",
};

/** A data dir whose database stopped at 0005, holding one channel per BEFORE entry. */
function databaseAt0005(): string {
  const d = tempDir();
  dirs.push(d);
  const sqlite = new Database(join(d.path, "backapp.db"), { create: true, strict: true });
  applyMigrations(
    sqlite,
    migrations.filter((m) => m.idx <= 5),
  );
  sqlite.run("INSERT INTO users (id, email, name, password_hash) VALUES ('u1', 'a@example.com', 'A', 'x')");
  for (const [id, events] of Object.entries(BEFORE)) {
    sqlite.run(
      "INSERT INTO notification_channels (id, user_id, type, name, target, target_hint, events) VALUES (?, 'u1', 'email', ?, 'a@example.com', 'a@example.com', ?)",
      [id, id, events],
    );
  }
  sqlite.close();
  return d.path;
}

describe("migration 0006_restore_failed_events", () => {
  it("adds restore_failed where failed_run was chosen, once", () => {
    expect(migrations.map((m) => m.tag)).toContain("0006_restore_failed_events");
    const dataDir = databaseAt0005();
    const opened = openDatabase(dataDir);
    try {
      const rows = opened.sqlite.query("SELECT id, events FROM notification_channels").all() as {
        id: string;
        events: string;
      }[];
      const after = Object.fromEntries(rows.map((r) => [r.id, r.events]));
      expect(JSON.parse(after.wantsFailures ?? "")).toEqual(["failed_run", "check_failed", "restore_failed"]);
      expect(JSON.parse(after.failedRunLast ?? "")).toEqual([
        "run_succeeded",
        "failed_run",
        "restore_failed",
      ]);
      expect(after.onlySuccess).toBe(BEFORE.onlySuccess);
      expect(after.already).toBe(BEFORE.already);
      expect(after.empty).toBe("[]");
      expect(after.notJson).toBe("not json at all");
      const applied = opened.sqlite.query("SELECT tag FROM schema_migrations WHERE idx = 6").get();
      expect(applied).toEqual({ tag: "0006_restore_failed_events" });
    } finally {
      opened.close();
    }
    // Opening again applies nothing twice.
    const again = openDatabase(dataDir);
    try {
      const row = again.sqlite
        .query("SELECT events FROM notification_channels WHERE id = 'wantsFailures'")
        .get();
      expect(JSON.parse((row as { events: string }).events)).toEqual([
        "failed_run",
        "check_failed",
        "restore_failed",
      ]);
    } finally {
      again.close();
    }
  });
});
