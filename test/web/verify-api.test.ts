/**
 * Verification through the real server and real repositories: a restore drill of a job passes,
 * "Verify now" passes on the healthy repository; after flipping a byte in every pack of the local
 * destination the drill and the check fail, each raising `check_failed`. Another user's ids 404.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ALICE,
  type AuthTestServer,
  addUser,
  type Browser,
  setupAdmin,
  startAuthServer,
} from "../helpers/auth-server.ts";
import { build, dir, file } from "../helpers/fs-tree.ts";
import { tempDir } from "../helpers/temp.ts";

interface LogJson {
  id: string;
  kind: string;
  status: string;
  reason: string | null;
  filesProcessed: number;
  totalBytes: number;
  details: Record<string, unknown> | null;
}

let server: AuthTestServer;
let admin: Browser;
let alice: Browser;
const work = tempDir("backapp-verify-");
const src = join(work.path, "src");
const repo = join(work.path, "repo");
let jobId = "";
let destinationId = "";

async function waitForEnd(b: Browser, logId: string): Promise<LogJson> {
  for (let i = 0; i < 1200; i++) {
    const log = (await b.api("GET", `/api/backups/${logId}`)).json<LogJson>();
    if (log.status !== "queued" && log.status !== "running") return log;
    await Bun.sleep(100);
  }
  throw new Error(`run ${logId} did not end`);
}

function packs(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const full = join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else out.push(full);
    }
  };
  walk(join(root, "data"));
  return out;
}

async function openCheckAlerts(b: Browser) {
  const items = (await b.api("GET", "/api/alerts?status=open")).json<{
    items: { kind: string; message: string }[];
  }>().items;
  return items.filter((a) => a.kind === "check_failed");
}

beforeAll(async () => {
  server = await startAuthServer();
  admin = await setupAdmin(server);
  alice = await addUser(server, admin, ALICE);
  const big = new Uint8Array(300_000).map((_, i) => (i * 31) % 251);
  build(src, {
    "a.txt": file("alpha"),
    deep: dir({ "b.bin": file(big), "c.txt": file("gamma ".repeat(500)) }),
  });
  const d = await admin.api("POST", "/api/destinations", {
    type: "local",
    name: "disk",
    path: repo,
    password: "a long repository passphrase",
  });
  destinationId = d.json<{ id: string }>().id;
  const j = await admin.api("POST", "/api/configs", {
    name: "Documents",
    sources: [{ path: src }],
    destinationId,
    schedule: { cronExpression: "", timezone: "UTC" },
  });
  jobId = j.json<{ id: string }>().id;
  const run = await admin.api("POST", `/api/backups/execute/${jobId}`);
  expect(run.status).toBe(202);
  expect((await waitForEnd(admin, run.json<{ logId: string }>().logId)).status).toBe("completed");
}, 180_000);

afterAll(async () => {
  await server.stop();
  work.cleanup();
});

describe("verification", () => {
  it("a restore drill of the job passes: every sampled file matches the snapshot and the source", async () => {
    const r = await admin.api("POST", `/api/configs/${jobId}/drill`, {});
    expect(r.status).toBe(202);
    const log = await waitForEnd(admin, r.json<{ logId: string }>().logId);
    expect(log.kind).toBe("drill");
    expect(log.status).toBe("completed");
    const details = log.details as {
      files: number;
      bytes: number;
      restoreMs: number;
      source: { filesChecked: number };
    };
    expect(details.files).toBe(3);
    expect(details.bytes).toBe(300_000 + 5 + 3000);
    expect(details.source.filesChecked).toBe(3);
    expect(log.filesProcessed).toBe(3);
    expect(log.totalBytes).toBe(details.bytes);
    expect(details.restoreMs).toBeGreaterThanOrEqual(0);
    // The sample was deleted.
    expect(readdirSync(join(server.dataDir, "drills"))).toEqual([]);
    const page = await admin.request("GET", `/backups/${log.id}`);
    expect(page.text).toContain("Restore drill: passed");
    expect(page.text).toContain("Time to restore the sample");
    const dash = await admin.request("GET", "/dashboard");
    expect(dash.text).toContain("Last drill");
    expect(dash.text).toContain(`href="/backups/${log.id}"`);
  });

  it("Verify now passes on the healthy repository (5% data sample by default)", async () => {
    const r = await admin.api("POST", `/api/destinations/${destinationId}/verify`, {});
    expect(r.status).toBe(202);
    const log = await waitForEnd(admin, r.json<{ logId: string }>().logId);
    expect(log).toMatchObject({ kind: "check", status: "completed" });
    expect(log.details).toMatchObject({ readDataPct: 5, problemCount: 0 });
    expect(await openCheckAlerts(admin)).toEqual([]);
  });

  it("the buttons on the destinations and jobs pages queue a check and a drill and land on the run page", async () => {
    const list = await admin.request("GET", "/destinations");
    expect(list.text).toContain(`action="/destinations/${destinationId}/verify"`);
    const v = await admin.form(`/destinations/${destinationId}/verify`, {});
    expect(v.status).toBe(303);
    const runPath = v.headers.get("location") ?? "";
    expect(runPath).toMatch(/^\/backups\//);
    expect((await waitForEnd(admin, runPath.slice("/backups/".length))).status).toBe("completed");
    expect((await admin.request("GET", runPath)).text).toContain("Repository check: no problems");
    const jobs = await admin.request("GET", "/configs");
    expect(jobs.text).toContain(`action="/configs/${jobId}/drill"`);
    const d = await admin.form(`/configs/${jobId}/drill`, {});
    expect(d.status).toBe(303);
    expect((await waitForEnd(admin, (d.headers.get("location") ?? "").slice("/backups/".length))).kind).toBe(
      "drill",
    );
  });

  it("verification settings: defaults, admins change them, others may only read (not an admin: 404, as every admin-only path)", async () => {
    expect((await alice.api("GET", "/api/verification/settings")).json()).toEqual({
      checkEveryDays: 30,
      checkReadDataPct: 5,
      drillEveryDays: 30,
      drillFiles: 20,
      drillMaxBytes: 256 * 1024 * 1024,
    });
    expect((await alice.api("PUT", "/api/verification/settings", { drillFiles: 5 })).status).toBe(404);
    expect((await admin.api("PUT", "/api/verification/settings", { drillFiles: 0 })).status).toBe(400);
    const r = await admin.api("PUT", "/api/verification/settings", { drillFiles: 50, checkEveryDays: 7 });
    expect(r.json()).toMatchObject({ drillFiles: 50, checkEveryDays: 7, drillEveryDays: 30 });
  });

  it("another user's destination and job are 404", async () => {
    expect((await alice.api("POST", `/api/destinations/${destinationId}/verify`, {})).status).toBe(404);
    expect((await alice.api("POST", `/api/configs/${jobId}/drill`, {})).status).toBe(404);
    expect(
      (await admin.api("POST", `/api/destinations/${destinationId}/verify`, { readDataPct: 101 })).status,
    ).toBe(400);
  });

  it("after a byte flipped in the packs the drill and the check fail and raise check_failed", async () => {
    for (const pack of packs(repo)) {
      const bytes = readFileSync(pack);
      const at = Math.floor(bytes.length / 2);
      bytes[at] = (bytes[at] ?? 0) ^ 0xff;
      writeFileSync(pack, bytes);
    }
    const drill = await admin.api("POST", `/api/configs/${jobId}/drill`, {});
    const dlog = await waitForEnd(admin, drill.json<{ logId: string }>().logId);
    expect(dlog.status).toBe("failed");
    expect(dlog.reason).toBeTruthy();
    const afterDrill = await openCheckAlerts(admin);
    expect(afterDrill.some((a) => a.message.startsWith('Restore drill of "Documents" failed'))).toBe(true);

    const check = await admin.api("POST", `/api/destinations/${destinationId}/verify`, { readDataPct: 100 });
    const clog = await waitForEnd(admin, check.json<{ logId: string }>().logId);
    expect(clog.status).toBe("failed");
    expect((clog.details as { problemCount: number }).problemCount).toBeGreaterThan(0);
    const alerts = await openCheckAlerts(admin);
    expect(alerts.some((a) => a.message.startsWith('Repository check of destination "disk" failed'))).toBe(
      true,
    );
    expect(await openCheckAlerts(alice)).toEqual([]);
  });
});
