/**
 * Hostile values in parameters and bodies, through the real server (adds to the traversal cases in
 * test/web/snapshots-api.test.ts): double-encoded and overlong-UTF-8 dots, absolute paths outside a
 * user's roots in restore targets and job sources; SQL-looking strings kept as text; invalid cron
 * expressions and time zones; huge and deeply nested JSON. Every answer is a clear 4xx (never a
 * 5xx), nothing is written outside, and the server answers normally afterwards.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Hostile, startHostile } from "./fixture.ts";

let h: Hostile;
let root = "";
let outside = "";
let aliceDestination = "";
beforeAll(async () => {
  h = await startHostile();
  root = join(h.work, "alice-root");
  outside = join(h.work, "outside");
  mkdirSync(root);
  const aliceId = (await h.alice.get("/api/auth/session")).json<{ user: { id: string } }>().user.id;
  const r = await h.admin.api("PATCH", `/api/users/${aliceId}`, { allowedRoots: [root] });
  expect(r.status).toBe(200);
  const d = await h.alice.api("POST", "/api/destinations", {
    type: "local",
    name: "mine",
    path: join(root, "repo"),
    password: "alice's repository passphrase",
  });
  expect(d.status).toBe(201);
  aliceDestination = d.json<{ id: string }>().id;
}, 180_000);
afterAll(async () => {
  await h?.stop();
});

type ErrorBody = { error: { status: number; message: string; fields?: Record<string, string> } };

describe("path parameters of the browse API", () => {
  it("double-encoded and overlong dots are names, not steps: 400 when relative, else 404 in the snapshot", async () => {
    const { destinationId, jobId } = h.ids;
    const cases: [string, number][] = [
      ["path=%252e%252e%252fetc%252fpasswd", 400], // "%2e%2e%2fetc%2fpasswd": relative
      ["path=%2F%252e%252e%2Fetc%2Fpasswd", 404], // "/%2e%2e/etc/passwd": a literal name, absent
      ["path=%2F%C0%AE%C0%AE%2Fetc%2Fpasswd", 400], // overlong "." bytes: not UTF-8, refused as a path=
      ["path=%C0%AE%C0%AE%2Fetc", 400],
      ["path=..%5C..%5Cetc", 400], // backslashes are name bytes on Linux, and this is relative
      ["path=%2Fetc%2Fpasswd", 404], // absolute: looked up in the snapshot, never on this disk
      // The same bytes as a lossless token are a (non-UTF-8) name, never dots: absent from the snapshot.
      [`p=${Buffer.from([0x2f, 0xc0, 0xae, 0xc0, 0xae, 0x2f, 0x65]).toString("base64url")}`, 404],
      [`p=${Buffer.from("/a/./b").toString("base64url")}`, 400],
      [`p=${Buffer.from("/a\0b").toString("base64url")}`, 400],
    ];
    for (const [param, status] of cases) {
      for (const kind of ["tree", "download"]) {
        const r = await h.admin.api(
          "GET",
          `/api/snapshots/latest/${kind}?destinationId=${destinationId}&${param}`,
        );
        expect([kind, param, r.status]).toEqual([kind, param, status]);
        expect(r.text).not.toContain("root:x:0:0");
      }
      const v = await h.admin.api("GET", `/api/files/versions?configId=${jobId}&${param}`);
      expect([param, v.status]).toEqual([param, status === 404 ? 200 : 400]);
    }
  });
});

describe("restore targets and paths", () => {
  const ask = (body: Record<string, unknown>) =>
    h.alice.api("POST", "/api/restores", { destinationId: aliceDestination, snapshotId: "latest", ...body });

  it("a user's target must stay inside their roots however it is spelled", async () => {
    const targets = [
      `${root}/../outside`,
      `${root}/./../outside`,
      `${root}//..//outside`,
      outside,
      "/",
      "../outside",
      `${root}/%2e%2e/outside`, // a literal folder name inside the root: passes, finds no snapshot (404)
    ];
    for (const target of targets) {
      const r = await ask({ target });
      expect([target, r.status]).toEqual([target, target.includes("%2e") ? 404 : 403]);
    }
    for (const target of [`${root}/t\u0000x`, "", "x".repeat(5000)]) {
      expect((await ask({ target })).status, JSON.stringify(target.slice(0, 20))).toBe(400);
    }
    expect(existsSync(outside)).toBe(false);
  });

  it("restore paths with NUL, dot steps or relative spelling are refused before anything runs", async () => {
    const { destinationId, snapshotId } = h.ids;
    const target = join(h.work, "admin-restore");
    for (const path of [`${h.src}/../..`, `${h.src}/./x`, "relative", `${h.src}\u0000`, "..", "/.."]) {
      const r = await h.admin.api("POST", "/api/restores", {
        destinationId,
        snapshotId,
        paths: [path],
        target,
        existing: "skip",
      });
      expect([path, r.status]).toEqual([path, 400]);
    }
    expect(existsSync(target)).toBe(false);
  });
});

describe("job sources", () => {
  const job = (path: string, who = h.alice) =>
    who.api("POST", "/api/configs", {
      name: "sources",
      sources: [{ path }],
      destinationId: h.ids.destinationId,
      schedule: { cronExpression: "", timezone: "UTC" },
    });

  it("refuse relative, dot-stepping and NUL paths with a field error, and a user's paths outside their roots", async () => {
    for (const path of ["relative/dir", `${h.src}/../..`, `${h.src}/a/..`, `${h.src}\u0000`, "~/x", ""]) {
      const r = await job(path, h.admin);
      expect([path, r.status]).toEqual([path, 400]);
      expect(Object.keys(r.json<ErrorBody>().error.fields ?? {}).join(), path).toMatch(/sources/);
    }
    // "." steps and doubled slashes are harmless: stored normalised, like allowed roots.
    const dotted = await job(`${h.src}/./a//b/`, h.admin);
    expect(dotted.status).toBe(201);
    expect(dotted.json<{ sources: { path: string }[] }>().sources[0]?.path).toBe(`${h.src}/a/b`);
    const mine = (path: string) =>
      h.alice.api("POST", "/api/configs", {
        name: "mine",
        sources: [{ path }],
        destinationId: aliceDestination,
        schedule: { cronExpression: "", timezone: "UTC" },
      });
    for (const path of [outside, `${root}/../outside`, "/", `${root}-sibling`]) {
      const r = await mine(path);
      expect([path, r.status]).toEqual([path, path.includes("..") ? 400 : 403]);
    }
    expect((await mine(join(root, "data"))).status).toBe(201);
  });
});

describe("SQL-looking strings", () => {
  it("are stored and shown as text, and in query parameters they match nothing", async () => {
    const sql = `x'); DROP TABLE users; --`;
    const r = await h.admin.api("POST", "/api/configs", {
      name: sql,
      sources: [{ path: h.src }],
      destinationId: h.ids.destinationId,
      schedule: { cronExpression: "", timezone: "UTC" },
    });
    expect(r.status).toBe(201);
    expect((await h.admin.api("GET", `/api/configs/${r.json<{ id: string }>().id}`)).json()).toMatchObject({
      name: sql,
    });
    for (const query of [
      `/api/configs/${encodeURIComponent("' OR '1'='1")}`,
      `/api/snapshots?destinationId=${encodeURIComponent("' OR 1=1 --")}`,
      `/api/alerts?status=${encodeURIComponent("open' OR '1'='1")}`,
      `/api/backups/logs?configId=${encodeURIComponent("1 UNION SELECT * FROM users")}`,
      `/api/snapshots/latest/search?destinationId=${h.ids.destinationId}&q=${encodeURIComponent("%' OR 1=1 --")}`,
    ]) {
      const res = await h.alice.api("GET", query);
      expect([query, res.status < 500]).toEqual([query, true]);
      expect(res.text, query).not.toContain(h.ids.jobId);
    }
    expect((await h.admin.get("/api/users")).json<{ users: unknown[] }>().users.length).toBe(2);
  });
});

describe("dates in query parameters", () => {
  it("are ISO only: a probe like 'a;sleep 60;' is a 400, not a report for 1960", async () => {
    for (const path of [
      "/reports?from=a%3Bsleep+60%3B",
      "/api/reports?from=x+60",
      "/api/reports?to=12%2F01%2F2026",
      "/api/backups/logs?from=a%3Bsleep+60%3B",
      "/backups?from=x+60",
    ]) {
      expect([path, (await h.admin.get(path)).status]).toEqual([path, 400]);
    }
    expect((await h.admin.get("/reports?from=2026-11-02&to=2026-12-02")).status).toBe(200);
    expect((await h.admin.get("/api/backups/logs?from=2026-11-02T00:00:00Z")).status).toBe(200);
  });
});

describe("schedules", () => {
  it("refuse invalid cron expressions and time zones with a field error", async () => {
    const bad = [
      { cronExpression: "* * *", timezone: "UTC" },
      { cronExpression: "61 * * * *", timezone: "UTC" },
      { cronExpression: "*/0 * * * *", timezone: "UTC" },
      { cronExpression: "0 0 31 2 *", timezone: "Mars/Olympus" },
      { cronExpression: "0 3 * * *", timezone: "Mars/Olympus" },
      { cronExpression: "0 3 * * *", timezone: "UTC'; DROP TABLE x; --" },
      { cronExpression: "0 3 * * *", timezone: "../../etc/localtime" },
      { cronExpression: "0 3 * * *".repeat(200), timezone: "UTC" },
    ];
    for (const schedule of bad) {
      const r = await h.admin.api("POST", "/api/configs", {
        name: "cron",
        sources: [{ path: h.src }],
        destinationId: h.ids.destinationId,
        schedule,
      });
      expect([schedule, r.status]).toEqual([schedule, 400]);
      expect(Object.keys(r.json<ErrorBody>().error.fields ?? {}).join(), JSON.stringify(schedule)).toMatch(
        /schedule/,
      );
    }
  });
});

describe("bodies", () => {
  it("huge bodies get 413, deep nesting and odd JSON a 400, and the server answers normally afterwards", async () => {
    const headers = { "content-type": "application/json", "x-csrf-token": h.admin.csrf! };
    const post = (body: string, path = "/api/configs") => h.admin.request("POST", path, { headers, body });
    expect((await post(`{"name":"${"a".repeat(3 * 1024 * 1024)}"}`)).status).toBe(413);
    const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    expect((await post(deep)).status).toBe(400);
    const deepObject = `${'{"a":'.repeat(50_000)}1${"}".repeat(50_000)}`;
    expect((await post(deepObject)).status).toBe(400);
    const nestedSources = `{"name":"n","sources":[{"path":${'{"x":'.repeat(10_000)}1${"}".repeat(10_000)}}]}`;
    expect((await post(nestedSources)).status).toBe(400);
    for (const body of ['{"name":"\\ud800"}', '{"__proto__":{"admin":true}}', "{}".repeat(1000), "\u0000"]) {
      expect((await post(body)).status, body.slice(0, 20)).toBe(400);
    }
    // Chunked (no Content-Length) over the limit is cut off too.
    const chunks = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 40; i++) controller.enqueue(new TextEncoder().encode("a".repeat(64 * 1024)));
        controller.close();
      },
    });
    const chunked = await h.admin.request("POST", "/api/configs", { headers, body: chunks });
    expect(chunked.status).toBe(413);
    expect((await h.admin.get("/healthz")).status).toBe(200);
    expect((await h.admin.get("/api/configs")).status).toBe(200);
  });
});
