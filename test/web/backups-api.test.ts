/**
 * /api/backups and /backups through the real server: run a job now, follow its log to the end,
 * restore the snapshot byte for byte; list with keyset pages; another user's ids are 404.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ADMIN,
  ALICE,
  type AuthTestServer,
  addUser,
  type Browser,
  setupAdmin,
  startAuthServer,
} from "../helpers/auth-server.ts";
import { runBackapp } from "../helpers/cli.ts";
import { build, dir, file } from "../helpers/fs-tree.ts";
import { LOG_KEYS } from "../helpers/job-rows.ts";
import { tempDir } from "../helpers/temp.ts";

const PASSPHRASE = "a long repository passphrase for tests";

interface LogJson {
  id: string;
  status: string;
  snapshotId: string | null;
  filesProcessed: number;
  reason?: string | null;
  [k: string]: unknown;
}

let server: AuthTestServer;
let admin: Browser;
let alice: Browser;
const work = tempDir("backapp-backups-");
const src = join(work.path, "src");
const repo = join(work.path, "repo");
let jobId = "";

async function waitForEnd(b: Browser, logId: string): Promise<LogJson> {
  for (let i = 0; i < 600; i++) {
    const log = (await b.api("GET", `/api/backups/${logId}`)).json<LogJson>();
    if (log.status !== "queued" && log.status !== "running") return log;
    await Bun.sleep(100);
  }
  throw new Error(`run ${logId} did not end`);
}

beforeAll(async () => {
  server = await startAuthServer();
  admin = await setupAdmin(server);
  alice = await addUser(server, admin, ALICE);
  build(src, { "a.txt": file("alpha"), deep: dir({ "b.bin": file(new Uint8Array(200_000).fill(7)) }) });
  const d = await admin.api("POST", "/api/destinations", {
    type: "local",
    name: "disk",
    path: repo,
    password: PASSPHRASE,
  });
  expect(d.status).toBe(201);
  const destinationId = d.json<{ id: string }>().id;
  const j = await admin.api("POST", "/api/configs", {
    name: "Sources",
    sources: [{ path: src }],
    destinationId,
    schedule: { cronExpression: "", timezone: "UTC" },
  });
  expect(j.status).toBe(201);
  jobId = j.json<{ id: string }>().id;
}, 180_000);

afterAll(async () => {
  await server.stop();
  work.cleanup();
});

describe("/api/backups", () => {
  it("runs a job now (202 logId), the log completes with the contract's shape, and the snapshot restores", async () => {
    const r = await admin.api("POST", `/api/backups/execute/${jobId}`);
    expect(r.status).toBe(202);
    const { logId } = r.json<{ logId: string }>();
    const log = await waitForEnd(admin, logId);
    expect(log.status).toBe("completed");
    expect(Object.keys(log)).toEqual(expect.arrayContaining(LOG_KEYS));
    expect(log.filesProcessed).toBe(2);
    const target = join(work.path, "restore");
    const env = { BACKAPP_PASSWORD: PASSPHRASE };
    const out = await runBackapp(["restore", "--repo", repo, log.snapshotId ?? "", "--target", target], {
      env,
    });
    expect(out.code).toBe(0);
    expect(readFileSync(join(target, src, "a.txt"), "utf8")).toBe("alpha");
    expect(readFileSync(join(target, src, "deep", "b.bin"))).toEqual(
      Buffer.from(new Uint8Array(200_000).fill(7)),
    );
    const page = await admin.request("GET", `/backups/${logId}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain(log.snapshotId);
    expect(page.text).not.toContain("hx-trigger");
    const audit = (await admin.api("GET", "/api/audit")).text;
    expect(audit).toContain("backup.run");
    expect(audit).toContain(logId);
    // The repository passphrase travels to the run on stdin only: never in a log line or answer.
    expect(JSON.stringify(server.logs)).not.toContain(PASSPHRASE);
    expect(JSON.stringify(log)).not.toContain(PASSPHRASE);
    expect(page.text).not.toContain(PASSPHRASE);
  }, 180_000);

  it("lists runs newest first with cursor pages and filters", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const { logId } = (await admin.api("POST", `/api/backups/execute/${jobId}`)).json<{ logId: string }>();
      await waitForEnd(admin, logId);
      ids.push(logId);
    }
    const first = (await admin.api("GET", `/api/backups/logs?configId=${jobId}&limit=2`)).json<{
      items: LogJson[];
      nextCursor: string | null;
    }>();
    expect(first.items.map((x) => x.id)).toEqual([ids[1], ids[0]]);
    expect(first.nextCursor).not.toBeNull();
    const second = (
      await admin.api("GET", `/api/backups/logs?configId=${jobId}&limit=2&cursor=${first.nextCursor}`)
    ).json<{ items: LogJson[]; nextCursor: string | null }>();
    expect(second.items.length).toBe(1);
    expect(second.nextCursor).toBeNull();
    const completed = (await admin.api("GET", "/api/backups/logs?status=completed")).json<{
      items: LogJson[];
    }>();
    expect(completed.items.every((x) => x.status === "completed")).toBe(true);
    const bad = await admin.api("GET", "/api/backups/logs?status=nonsense&limit=0");
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.json<{ error: { fields: object } }>().error.fields)).toEqual(
      expect.arrayContaining(["status", "limit"]),
    );
  }, 180_000);

  it("cancels a running run through the API; the page follows it live (SSE) and offers Cancel while it runs", async () => {
    const slowSrc = join(work.path, "slow");
    build(slowSrc, { "r.bin": file(randomBytes(3 * 1024 * 1024)) });
    const dests = (await admin.api("GET", "/api/destinations")).json<{ items: { id: string }[] }>().items;
    const j = await admin.api("POST", "/api/configs", {
      name: "Slow",
      sources: [{ path: slowSrc }],
      destinationId: dests[0]?.id,
      schedule: { cronExpression: "", timezone: "UTC" },
      options: { bandwidth: 32 },
    });
    expect(j.status).toBe(201);
    const slowId = j.json<{ id: string }>().id;
    const { logId } = (await admin.api("POST", `/api/backups/execute/${slowId}`)).json<{ logId: string }>();
    let log = (await admin.api("GET", `/api/backups/${logId}`)).json<LogJson>();
    for (let i = 0; i < 300 && log.status !== "running"; i++) {
      await Bun.sleep(100);
      log = (await admin.api("GET", `/api/backups/${logId}`)).json<LogJson>();
    }
    const page = await admin.request("GET", `/backups/${logId}`);
    expect(page.text).toContain(`hx-sse:connect="/backups/${logId}/live"`);
    expect(page.text).toContain("Cancel run");
    const r = await admin.api("POST", `/api/backups/${logId}/cancel`);
    expect(r.status).toBe(200);
    expect(r.json<{ cancelled: boolean }>().cancelled).toBe(true);
    const end = await waitForEnd(admin, logId);
    expect(end.status).toBe("cancelled");
    expect(end.snapshotId).toBeNull();
    expect(end.reason).toBe(`cancelled by ${ADMIN.email}`);
    expect(
      (await admin.api("POST", `/api/backups/${logId}/cancel`)).json<{ cancelled: boolean }>().cancelled,
    ).toBe(false);
    expect((await admin.api("GET", "/api/audit")).text).toContain("backup.cancel");
  }, 180_000);

  it("another user's job and runs answer 404, and their list is empty", async () => {
    const mine = (await admin.api("GET", `/api/backups/logs?configId=${jobId}`)).json<{ items: LogJson[] }>();
    const logId = mine.items[0]?.id ?? "";
    expect((await alice.api("POST", `/api/backups/execute/${jobId}`)).status).toBe(404);
    expect((await alice.api("GET", `/api/backups/${logId}`)).status).toBe(404);
    expect((await alice.api("POST", `/api/backups/${logId}/cancel`)).status).toBe(404);
    expect((await alice.request("GET", `/backups/${logId}`)).status).toBe(404);
    expect((await alice.api("GET", "/api/backups/logs")).json<{ items: unknown[] }>().items).toEqual([]);
    expect((await alice.api("POST", "/api/backups/execute/nope")).status).toBe(404);
  });

  it("the pages and the API need a signed-in user", async () => {
    const res = await fetch(`${server.url}/api/backups/logs`);
    expect(res.status).toBe(401);
    const page = await fetch(`${server.url}/backups`, { redirect: "manual" });
    expect([302, 303]).toContain(page.status);
  });
});
