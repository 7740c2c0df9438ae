/**
 * Run history at scale: 100,000 generated backup_logs rows in a real SQLite file, paged through
 * with every filter (job, status, date range) by keyset cursors — every matching row exactly once,
 * newest first, ties on the start time kept apart by id — the query plans use an index with no
 * sort step, and the real server's /api/backups/logs and /backups page through the same way.
 */
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BackupLogRow, type LogQuery, listLogs } from "../../src/db/backup-logs.ts";
import { openDatabase } from "../../src/db/client.ts";
import { type AuthTestServer, type Browser, setupAdmin, startAuthServer } from "../helpers/auth-server.ts";
import { seedConfigRow, seedDestination, seedUser } from "../helpers/job-rows.ts";
import { tempDir } from "../helpers/temp.ts";

const N = 100_000;
const BASE = Date.parse("2026-01-01T00:00:00Z");
const STATUSES = ["completed", "completed", "completed", "partial", "failed", "cancelled", "missed"] as const;

interface Gen {
  id: string;
  userId: string;
  configId: string | null;
  status: string;
  startTime: number;
}

/** Rows every 5 minutes, every 7th sharing its start time with the one before (ties on time). */
function generate(userIds: string[], configIds: (string | null)[]): Gen[] {
  const rows: Gen[] = [];
  let t = BASE;
  for (let i = 0; i < N; i++) {
    if (i % 7 !== 0) t += 300_000;
    rows.push({
      id: `r${String(i).padStart(6, "0")}${(i * 7919) % 97}`,
      userId: userIds[i % 10 === 0 ? 1 : 0] as string,
      configId: configIds[i % configIds.length] ?? null,
      status: STATUSES[i % STATUSES.length] as string,
      startTime: t,
    });
  }
  return rows;
}

function insertAll(sqlite: Database, rows: Gen[]): void {
  const stmt = sqlite.prepare(
    `insert into backup_logs (id, user_id, config_id, status, trigger, start_time, end_time, duration_ms, created_at)
     values (?, ?, ?, ?, 'schedule', ?, ?, 1000, ?)`,
  );
  sqlite.transaction(() => {
    for (const r of rows)
      stmt.run(r.id, r.userId, r.configId, r.status, r.startTime, r.startTime + 1000, r.startTime);
  })();
}

/** Newest first, by (startTime, id) descending: the order the history promises. */
function newestFirst(a: { startTime: number; id: string }, b: { startTime: number; id: string }): number {
  return b.startTime - a.startTime || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

function pageAll(db: ReturnType<typeof openDatabase>["db"], query: LogQuery): BackupLogRow[] {
  const out: BackupLogRow[] = [];
  let cursor: string | null = null;
  do {
    const page = listLogs(db, { ...query, limit: 200, cursor });
    out.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

describe("history over 100,000 runs (query module)", () => {
  const dir = tempDir("backapp-history-");
  const database = openDatabase(dir.path);
  const db = database.db;
  let rows: Gen[] = [];
  let user = "";
  let job = "";

  beforeAll(() => {
    const a = seedUser(db);
    const b = seedUser(db);
    const dest = seedDestination(db, a.id);
    const jobs = [
      seedConfigRow(db, a.id, dest.id, "one").id,
      seedConfigRow(db, a.id, dest.id, "two").id,
      null,
    ];
    rows = generate([a.id, b.id], jobs);
    insertAll(database.sqlite, rows);
    user = a.id;
    job = jobs[1] as string;
  }, 180_000);

  afterAll(() => {
    database.close();
    dir.cleanup();
  });

  const expected = (f: (r: Gen) => boolean) =>
    rows
      .filter(f)
      .sort(newestFirst)
      .map((r) => r.id);

  it("pages a user's runs: every row once, newest first", () => {
    const got = pageAll(db, { userId: user }).map((r) => r.id);
    expect(got.length).toBe(rows.filter((r) => r.userId === user).length);
    expect(got).toEqual(expected((r) => r.userId === user));
  }, 240_000);

  it("pages with job, status and a date range together", () => {
    const from = BASE + 30 * 24 * 3600_000;
    const to = BASE + 200 * 24 * 3600_000;
    const query = { userId: user, configId: job, status: "failed" as const, from, to };
    const want = expected(
      (r) =>
        r.userId === user &&
        r.configId === job &&
        r.status === "failed" &&
        r.startTime >= from &&
        r.startTime < to,
    );
    expect(want.length).toBeGreaterThan(200);
    expect(pageAll(db, query).map((r) => r.id)).toEqual(want);
    const byStatus = pageAll(db, { userId: user, status: "missed" }).map((r) => r.id);
    expect(byStatus).toEqual(expected((r) => r.userId === user && r.status === "missed"));
  }, 240_000);

  it("an admin's whole history filtered by status pages in order too", () => {
    expect(
      pageAll(db, { status: "failed", from: BASE, to: BASE + 100 * 24 * 3600_000 }).map((r) => r.id),
    ).toEqual(expected((r) => r.status === "failed" && r.startTime < BASE + 100 * 24 * 3600_000));
  }, 240_000);

  it("reads each page through an index, without a sort step", () => {
    const plan = (where: string) =>
      database.sqlite
        .query(
          `explain query plan select * from backup_logs where ${where}
           and (start_time < 5 or (start_time = 5 and id < 'x')) order by start_time desc, id desc limit 201`,
        )
        .all()
        .map((r) => (r as { detail: string }).detail)
        .join("; ");
    for (const where of [
      "user_id = 'u'",
      "user_id = 'u' and status = 'failed'",
      "config_id = 'c' and status = 'failed'",
      "user_id = 'u' and config_id = 'c'",
      "+status = 'failed'",
    ]) {
      const p = plan(where);
      expect(p, where).toMatch(/USING (COVERING )?INDEX/);
      expect(p, where).not.toMatch(/TEMP B-TREE/);
    }
  });
});

describe("history over 100,000 runs (real server)", () => {
  let server: AuthTestServer;
  let admin: Browser;
  let rows: Gen[] = [];

  beforeAll(async () => {
    server = await startAuthServer();
    admin = await setupAdmin(server);
    const sqlite = new Database(join(server.dataDir, "backapp.db"));
    sqlite.run("PRAGMA busy_timeout = 5000");
    const adminId = (sqlite.query("select id from users limit 1").get() as { id: string }).id;
    rows = generate([adminId, adminId], [null]);
    insertAll(sqlite, rows);
    sqlite.close();
  }, 180_000);

  afterAll(async () => {
    await server.stop();
  });

  it("GET /api/backups/logs pages through all of them by cursor", async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const qs: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
      const r = await admin.api("GET", `/api/backups/logs?limit=200${qs}`);
      expect(r.status).toBe(200);
      const page = r.json<{ items: { id: string }[]; nextCursor: string | null }>();
      seen.push(...page.items.map((x) => x.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...rows].sort(newestFirst).map((r) => r.id));
  }, 240_000);

  it("/backups filters by status and dates and its Older link keeps the filters", async () => {
    const first = await admin.get("/backups?status=failed&from=2026-02-01&to=2026-02-28");
    expect(first.status).toBe(200);
    const link = /href="(\/backups\?[^"]*cursor=[^"]+)" rel="next"/
      .exec(first.text)?.[1]
      ?.replaceAll("&amp;", "&");
    expect(link).toContain("status=failed");
    expect(link).toContain("from=2026-02-01");
    const second = await admin.get(link!);
    expect(second.status).toBe(200);
    const shown = (html: string) => [...html.matchAll(/href="\/backups\/(r\d+)"/g)].map((m) => m[1]);
    const from = Date.parse("2026-02-01T00:00:00Z");
    const to = Date.parse("2026-03-01T00:00:00Z");
    const want = rows
      .filter((r) => r.status === "failed" && r.startTime >= from && r.startTime < to)
      .sort(newestFirst)
      .map((r) => r.id);
    expect([...shown(first.text), ...shown(second.text)]).toEqual(want.slice(0, 100));
    expect(second.text).toContain('href="/backups?status=failed&amp;from=2026-02-01&amp;to=2026-02-28"');
    expect((await admin.get("/backups?from=yesterday")).status).toBe(400);
  }, 180_000);
});
