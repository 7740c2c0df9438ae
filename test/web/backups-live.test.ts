/**
 * Live progress over SSE through the real server and real runs: ordered `progress` events then one
 * `done`; a reconnect with Last-Event-ID; a finished run answers `done` at once; another user's run
 * is 404; the per-user cap answers 429 and frees its slot when a client leaves; the run page and
 * its HTML stream. A real listener over the app with its bus shows a client leaving unsubscribes.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureSetupToken } from "../../src/auth/accounts.ts";
import { insertLog, updateLog } from "../../src/db/backup-logs.ts";
import { findUserByEmail } from "../../src/db/users.ts";
import { createTestApp } from "../helpers/auth-app.ts";
import {
  ADMIN,
  ALICE,
  type AuthTestServer,
  addUser,
  type Browser,
  setupAdmin,
  startAuthServer,
} from "../helpers/auth-server.ts";
import { build, file } from "../helpers/fs-tree.ts";
import { openSse, type SseMessage } from "../helpers/sse.ts";
import { tempDir } from "../helpers/temp.ts";

const PROGRESS_KEYS = [
  "phase",
  "filesDone",
  "filesTotal",
  "bytesDone",
  "bytesTotal",
  "bytesUploaded",
  "rate",
  "eta",
  "currentPath",
  "errors",
];

let server: AuthTestServer;
let admin: Browser;
let alice: Browser;
const work = tempDir("backapp-live-");
let slowJob = "";
let slowDestination = "";

function cookie(b: Browser): Record<string, string> {
  return { cookie: [...b.cookies].map(([k, v]) => `${k}=${v}`).join("; ") };
}

function events(b: Browser, logId: string, headers: Record<string, string> = {}) {
  return openSse(`${server.url}/api/backups/${logId}/events`, { ...cookie(b), ...headers });
}

async function runNow(b: Browser, jobId: string): Promise<string> {
  const r = await b.api("POST", `/api/backups/execute/${jobId}`);
  expect(r.status).toBe(202);
  return r.json<{ logId: string }>().logId;
}

beforeAll(async () => {
  server = await startAuthServer();
  admin = await setupAdmin(server);
  alice = await addUser(server, admin, ALICE);
  const src = join(work.path, "src");
  const files: Record<string, ReturnType<typeof file>> = {};
  for (let i = 0; i < 24; i++) files[`f${i}.bin`] = file(randomBytes(512 * 1024));
  build(src, files);
  const d = await admin.api("POST", "/api/destinations", {
    type: "local",
    name: "disk",
    path: join(work.path, "repo"),
    password: "a long repository passphrase for tests",
  });
  const destinationId = d.json<{ id: string }>().id;
  slowDestination = destinationId;
  // Uploads throttled to 3 MB/s: 12 MiB of random data takes a few seconds, long enough to watch.
  const j = await admin.api("POST", "/api/configs", {
    name: "Slow",
    sources: [{ path: src }],
    destinationId,
    schedule: { cronExpression: "", timezone: "UTC" },
    options: { bandwidth: 3000 },
  });
  expect(j.status).toBe(201);
  slowJob = j.json<{ id: string }>().id;
}, 180_000);

afterAll(async () => {
  await server.stop();
  work.cleanup();
});

function progressOf(m: SseMessage) {
  return JSON.parse(m.data) as Record<string, unknown> & { bytesDone: number; filesDone: number };
}

describe("GET /api/backups/:id/events", () => {
  it("streams ordered progress events of a real run, then exactly one done with the log", async () => {
    const logId = await runNow(admin, slowJob);
    const sse = await events(admin, logId);
    expect(sse.status).toBe(200);
    expect(sse.headers.get("content-type")).toContain("text/event-stream");
    const all = await sse.rest();
    const progress = all.filter((m) => m.event === "progress");
    const done = all.filter((m) => m.event === "done");
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(done).toHaveLength(1);
    expect(all.at(-1)?.event).toBe("done");
    expect(all.every((m) => m.event === "progress" || m.event === "done")).toBe(true);
    for (const p of progress) expect(Object.keys(progressOf(p)).sort()).toEqual([...PROGRESS_KEYS].sort());
    const ids = progress.map((p) => Number(p.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    const bytes = progress.map((p) => progressOf(p).bytesDone);
    expect(bytes).toEqual([...bytes].sort((a, b) => a - b));
    const backingUp = progress.map(progressOf).filter((p) => p.phase === "backing-up");
    expect(backingUp.length).toBeGreaterThan(0);
    for (const p of backingUp) expect(typeof p.bytesUploaded).toBe("number");
    const log = JSON.parse(done[0]!.data) as { id: string; status: string; filesProcessed: number };
    expect(log).toMatchObject({ id: logId, status: "completed", filesProcessed: 24 });
  }, 180_000);

  it("a finished run answers one done at once and ends", async () => {
    const list = (await admin.api("GET", `/api/backups/logs?configId=${slowJob}&limit=1`)).json<{
      items: { id: string }[];
    }>();
    const all = await (await events(admin, list.items[0]!.id)).rest();
    expect(all.map((m) => m.event)).toEqual(["done"]);
  });

  it("a reconnect with Last-Event-ID gets the newer state, then goes on to one done", async () => {
    const logId = await runNow(admin, slowJob);
    const first = await events(admin, logId);
    let seen = await first.next();
    while (seen && seen.event === "progress" && progressOf(seen).phase !== "backing-up")
      seen = await first.next();
    first.close();
    expect(seen?.event).toBe("progress");
    const again = await events(admin, logId, { "last-event-id": seen!.id! });
    const rest = await again.rest();
    expect(rest.filter((m) => m.event === "done")).toHaveLength(1);
    const firstAfter = rest[0]!;
    if (firstAfter.event === "progress") expect(Number(firstAfter.id)).toBeGreaterThan(Number(seen!.id));
    expect(JSON.parse(rest.at(-1)!.data)).toMatchObject({ id: logId, status: "completed" });
  }, 180_000);

  it("another user's run is 404, an unknown id is 404, signed out is refused", async () => {
    const logId = await runNow(admin, slowJob);
    const foreign = await events(alice, logId);
    expect(foreign.status).toBe(404);
    foreign.close();
    const unknown = await events(admin, "nosuchrun");
    expect(unknown.status).toBe(404);
    const anonymous = await openSse(`${server.url}/api/backups/${logId}/events`);
    expect([401, 302, 303]).toContain(anonymous.status);
    await (await events(admin, logId)).rest();
  }, 180_000);

  it("caps open streams per user at 5 (429 beyond) and frees a slot when a client goes away", async () => {
    const logId = await runNow(admin, slowJob);
    const open = [];
    for (let i = 0; i < 5; i++) {
      const s = await events(admin, logId);
      expect(s.status).toBe(200);
      expect(await s.next()).not.toBeNull();
      open.push(s);
    }
    const sixth = await events(admin, logId);
    expect(sixth.status).toBe(429);
    expect((await sixth.rest()).length).toBe(0);
    // The run page's stream answers 429 as an event stream that closes at once (htmx keeps the card).
    const page = await openSse(`${server.url}/backups/${logId}/live`, cookie(admin));
    expect(page.status).toBe(429);
    expect(page.headers.get("content-type")).toContain("text/event-stream");
    expect((await page.rest()).map((m) => m.event)).toEqual(["done"]);
    // Another user has slots of their own.
    const list = (await alice.api("GET", "/api/backups/logs")).json<{ items: unknown[] }>();
    expect(list.items).toEqual([]);
    open.pop()?.close();
    let again = await events(admin, logId);
    for (let i = 0; i < 100 && again.status === 429; i++) {
      await Bun.sleep(20);
      again = await events(admin, logId);
    }
    expect(again.status).toBe(200);
    const rest = await again.rest();
    expect(rest.at(-1)?.event).toBe("done");
    for (const s of open) expect((await s.rest()).at(-1)?.event).toBe("done");
  }, 180_000);
});

describe("/backups/:id live page", () => {
  it("renders a progress bar that the HTML stream updates, ending in the summary and a done event", async () => {
    const logId = await runNow(admin, slowJob);
    const page = await admin.get(`/backups/${logId}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain(`hx-sse:connect="/backups/${logId}/live"`);
    expect(page.text).toContain('hx-sse:close="done"');
    const live = await openSse(`${server.url}/backups/${logId}/live`, cookie(admin));
    const all = await live.rest();
    const html = all.filter((m) => m.event === "message");
    expect(html.some((m) => m.data.includes("<progress"))).toBe(true);
    expect(all.at(-1)?.event).toBe("done");
    const summary = html.at(-1)!.data;
    expect(summary).not.toContain("<progress");
    expect(summary).toContain("This run completed");
    expect(summary).not.toContain("Cancel run");
    const foreign = await openSse(`${server.url}/backups/${logId}/live`, cookie(alice));
    expect(foreign.status).toBe(404);
  }, 180_000);
});

describe("/backups/live/running", () => {
  it("lists the user's running runs live and ends each job's row cell on its final status", async () => {
    const live = await openSse(`${server.url}/backups/live/running`, cookie(admin));
    expect(live.status).toBe(200);
    const first = await live.next();
    expect(first?.data).toContain("No backup is running.");
    // A job of its own with new data: a re-run of the shared job reads nothing and ends at once.
    const src = join(work.path, "src-live-list");
    const files: Record<string, ReturnType<typeof file>> = {};
    for (let i = 0; i < 24; i++) files[`g${i}.bin`] = file(randomBytes(512 * 1024));
    build(src, files);
    const created = await admin.api("POST", "/api/configs", {
      name: "Slow list",
      sources: [{ path: src }],
      destinationId: slowDestination,
      schedule: { cronExpression: "", timezone: "UTC" },
      options: { bandwidth: 3000 },
    });
    expect(created.status).toBe(201);
    const jobId = created.json<{ id: string }>().id;
    const logId = await runNow(admin, jobId);
    let frame = await live.next();
    while (frame && !frame.data.includes("<progress")) frame = await live.next();
    expect(frame?.data).toContain(`href="/backups/${logId}"`);
    expect(frame?.data).toContain(`id="job-live-${jobId}" hx-swap-oob="true"`);
    while (frame && !frame.data.includes("status-completed")) frame = await live.next();
    expect(frame?.data).toContain("No backup is running.");
    expect(frame?.data).toContain(`<a href="/backups/${logId}"><span class="badge status-completed">`);
    live.close();
    const alices = await openSse(`${server.url}/backups/live/running`, cookie(alice));
    const own = await alices.next();
    alices.close();
    expect(own?.data).toContain("No backup is running.");
  }, 180_000);
});

describe("stream resources", () => {
  it("a client going away closes its bus subscription; updates are coalesced to the newest state", async () => {
    const t = createTestApp();
    const listener = Bun.serve({ port: 0, hostname: "127.0.0.1", idleTimeout: 0, fetch: t.app.fetch });
    try {
      const origin = `http://127.0.0.1:${listener.port}`;
      const reg = await fetch(`${origin}/api/auth/register`, {
        method: "POST",
        headers: { "content-type": "application/json", origin },
        body: JSON.stringify({ ...ADMIN, setupToken: ensureSetupToken(t.services) }),
      });
      expect(reg.status).toBe(201);
      const session = { cookie: reg.headers.getSetCookie()[0]!.split(";")[0]! };
      const user = findUserByEmail(t.db, ADMIN.email)!;
      const now = t.clock.now();
      const row = insertLog(t.db, { id: "liverun1", userId: user.id, status: "running", startTime: now });
      const bus = t.services.events;
      const sse = await openSse(`${origin}/api/backups/${row.id}/events`, session);
      expect((await sse.next())?.event).toBe("progress");
      const open = bus.subscriberCount();
      const ids = { userId: user.id, configId: null, logId: row.id };
      for (let i = 1; i <= 100; i++) {
        const progress = {
          filesDone: i,
          filesTotal: 100,
          bytesDone: i,
          bytesTotal: 100,
          rate: 1,
          eta: 1,
          errors: 0,
          current: [],
        };
        bus.publish({ ...ids, type: "run.progress", at: now + i, progress });
      }
      const frames = [await sse.next()];
      while (progressOf(frames.at(-1)!).filesDone !== 100) frames.push(await sse.next());
      expect(frames.length).toBeLessThanOrEqual(2);
      sse.close();
      for (let i = 0; i < 200 && bus.subscriberCount() >= open; i++) await Bun.sleep(10);
      expect(bus.subscriberCount()).toBe(open - 1);
      updateLog(t.db, row.id, { status: "completed", endTime: now + 200 });
      const after = await openSse(`${origin}/api/backups/${row.id}/events`, session);
      expect((await after.rest()).map((m) => m.event)).toEqual(["done"]);
      expect(bus.subscriberCount()).toBe(open - 1);

      // The run page's stream turns into the summary with the per-file errors when the run ends.
      const row2 = insertLog(t.db, { id: "liverun2", userId: user.id, status: "running", startTime: now });
      const page = await openSse(`${origin}/backups/${row2.id}/live`, session);
      expect((await page.next())?.data).toContain("<progress");
      const errors = [{ path: "/data/locked <1>.db", message: "permission denied" }];
      updateLog(t.db, row2.id, {
        status: "partial",
        filesSkipped: 1,
        errors: JSON.stringify(errors),
        endTime: now + 5,
      });
      const end = { userId: user.id, configId: null, logId: row2.id, at: now + 5 };
      bus.publish({ ...end, type: "run.finished", status: "partial", snapshotId: "abc", reason: null });
      const rest = await page.rest();
      expect(rest.map((m) => m.event)).toEqual(["message", "done"]);
      expect(rest[0]!.data).toContain("Files that could not be read");
      expect(rest[0]!.data).toContain("<code>/data/locked &lt;1&gt;.db</code>: permission denied");
      expect(rest[0]!.data).not.toContain("<progress");
    } finally {
      listener.stop(true);
      t.close();
    }
  });
});
