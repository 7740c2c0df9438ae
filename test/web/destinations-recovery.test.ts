/**
 * Disaster recovery through two real servers: server A backs up jobs into a local folder and an
 * S3 bucket (s3rver), keeping a recovery copy of its definitions in each repository; server B,
 * with an empty data dir, attaches the same destinations with their passphrases, lists what is
 * there, imports the jobs (API and htmx form), gets their history rebuilt from the snapshots, and
 * runs an imported job. The stored copy is decrypted here and holds no secret.
 */
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openRepository } from "../../src/engine/repository/index.ts";
import { openBackend } from "../../src/storage/open.ts";
import {
  ALICE,
  type AuthTestServer,
  addUser,
  type Browser,
  setupAdmin,
  startAuthServer,
} from "../helpers/auth-server.ts";
import { runBackapp } from "../helpers/cli.ts";
import { build, dir, file } from "../helpers/fs-tree.ts";
import { startS3rver, type TestS3 } from "../helpers/s3rver.ts";
import { tempDir } from "../helpers/temp.ts";

const PASS = "recovery-passphrase-Kd83nv01";
const S3_PASS = "recovery-s3-passphrase-Lm29xq77";
/** s3rver checks key ids, not signatures: a secret nothing else contains. */
const SECRET_KEY = "sk-recovery-Zr7Yt2Qp9Wn4";
const HOOK = "true pre-hook-marker";

const work = tempDir("backapp-recovery-");
const srcA = join(work.path, "a");
const srcB = join(work.path, "b");
const local = join(work.path, "repo");
let s3: TestS3;
let serverA: AuthTestServer;
let serverB: AuthTestServer | null = null;

interface Job {
  id: string;
  name: string;
  sources: { path: string; excludePatterns: string[] }[];
  schedule: { cronExpression: string; timezone: string };
  options: { retention: Record<string, number>; retentionDays: number | null };
  hooks: Record<string, { command: string }>;
  destinationId: string;
}

async function waitForEnd(b: Browser, logId: string): Promise<{ status: string; snapshotId: string | null }> {
  const deadline = Date.now() + 170_000;
  while (Date.now() < deadline) {
    const log = (await b.api("GET", `/api/backups/${logId}`)).json<{
      status: string;
      snapshotId: string | null;
    }>();
    if (log.status !== "queued" && log.status !== "running") return log;
    await Bun.sleep(100);
  }
  throw new Error(`run ${logId} did not end`);
}

async function runJob(b: Browser, jobId: string) {
  const r = await b.api("POST", `/api/backups/execute/${jobId}`);
  expect(r.status).toBe(202);
  const log = await waitForEnd(b, r.json<{ logId: string }>().logId);
  expect(log.status).toBe("completed");
  return log;
}

function s3Destination(name: string) {
  return {
    type: "s3",
    name,
    bucket: s3.bucket,
    prefix: "dr/server-a",
    region: s3.region,
    endpoint: s3.endpoint,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: SECRET_KEY,
    password: S3_PASS,
  };
}

/** The recovery copy as stored, decrypted with the engine (as any reader holding the passphrase). */
async function storedCopy(address: string, password: string, s3opts = {}): Promise<string> {
  const repo = await openRepository(openBackend(address, s3opts), password, { lock: "none", workers: 0 });
  try {
    const doc = await repo.readAppDocument("backapp");
    if (!doc) throw new Error(`no recovery copy at ${address}`);
    return doc.text;
  } finally {
    await repo.close();
  }
}

const jobsA: Job[] = [];
let adminB: Browser | null = null;
const snapshotsOf = new Map<string, string[]>();

beforeAll(async () => {
  s3 = await startS3rver();
  build(srcA, { "a.txt": file("alpha"), skip: dir({ "x.tmp": file("no") }) });
  build(srcB, { "b.txt": file("bravo") });
  serverA = await startAuthServer();
  const admin = await setupAdmin(serverA);
  const d1 = await admin.api("POST", "/api/destinations", {
    type: "local",
    name: "disk",
    path: local,
    password: PASS,
  });
  expect(d1.status).toBe(201);
  const d2 = await admin.api("POST", "/api/destinations", s3Destination("bucket"));
  expect(d2.status).toBe(201);
  const bodies = [
    {
      name: "Documents",
      sources: [{ path: srcA, excludePatterns: ["*.tmp"] }],
      destinationId: d1.json<{ id: string }>().id,
      schedule: { cronExpression: "30 3 * * *", timezone: "Europe/Berlin" },
      options: { retention: { keepLast: 5, keepDaily: 7 }, retentionDays: 90 },
      hooks: { pre: { command: HOOK, timeoutSeconds: 30 } },
    },
    {
      name: "Photos",
      sources: [{ path: srcB }],
      destinationId: d1.json<{ id: string }>().id,
      schedule: { cronExpression: "0 * * * *", timezone: "UTC" },
      options: { retention: { keepWeekly: 4 } },
    },
    {
      name: "Offsite",
      sources: [{ path: srcB }],
      destinationId: d2.json<{ id: string }>().id,
      schedule: { cronExpression: "15 2 * * 0", timezone: "UTC" },
    },
  ];
  for (const body of bodies) {
    const r = await admin.api("POST", "/api/configs", body);
    expect(r.status).toBe(201);
    jobsA.push(r.json<Job>());
  }
  for (const [job, runs] of [
    [jobsA[0]!, 3],
    [jobsA[1]!, 1],
    [jobsA[2]!, 2],
  ] as const) {
    const ids: string[] = [];
    for (let i = 0; i < runs; i++) ids.push((await runJob(admin, job.id)).snapshotId ?? "");
    snapshotsOf.set(job.id, ids);
  }
  // Server A is lost; only the folder, the bucket and the passphrases remain.
  await serverA.stop();
}, 300_000);

afterAll(async () => {
  await serverB?.stop();
  await s3.stop();
  work.cleanup();
});

describe("disaster recovery", () => {
  it("keeps a recovery copy in each repository with the definitions and no secret; check does not mind it", async () => {
    const text = await storedCopy(local, PASS);
    const doc = JSON.parse(text) as { jobs: { name: string; hooks: object }[] };
    expect(doc.jobs.map((j) => j.name).sort()).toEqual(["Documents", "Photos"]);
    const s3opts = {
      endpoint: s3.endpoint,
      region: s3.region,
      accessKeyId: "S3RVER",
      secretAccessKey: "S3RVER",
    };
    const remote = await storedCopy(`s3://${s3.bucket}/dr/server-a`, S3_PASS, s3opts);
    expect((JSON.parse(remote) as { jobs: { name: string }[] }).jobs.map((j) => j.name)).toEqual(["Offsite"]);
    for (const t of [text, remote]) {
      for (const secret of [PASS, S3_PASS, SECRET_KEY, "secretAccessKey", "password"]) {
        expect(t).not.toContain(secret);
      }
    }
    const check = await runBackapp(["check", "--repo", local], { env: { BACKAPP_PASSWORD: PASS } });
    expect(check.stdout + check.stderr).not.toMatch(/apps\//);
    expect(check.code).toBe(0);
  }, 180_000);

  it("a fresh server attaches the destinations, lists every snapshot, imports the jobs with their history and runs them", async () => {
    serverB = await startAuthServer();
    const admin = await setupAdmin(serverB);
    adminB = admin;
    // A job of the same name already here (in another destination): the import adds a suffix.
    const other = await admin.api("POST", "/api/destinations", {
      type: "local",
      name: "scratch",
      path: join(work.path, "scratch"),
      password: PASS,
    });
    const taken = await admin.api("POST", "/api/configs", {
      name: "Photos",
      sources: [{ path: srcB }],
      destinationId: other.json<{ id: string }>().id,
    });
    expect(taken.status).toBe(201);

    const attached = await admin.api("POST", "/api/destinations", {
      type: "local",
      name: "disk again",
      path: local,
      password: PASS,
    });
    expect(attached.status).toBe(201);
    const destinationId = attached.json<{ id: string }>().id;
    const listed = attached.json<{ repository: { created: boolean; snapshots: { id: string }[] } }>()
      .repository;
    expect(listed.created).toBe(false);
    const expected = [...snapshotsOf.get(jobsA[0]!.id)!, ...snapshotsOf.get(jobsA[1]!.id)!];
    expect(listed.snapshots.map((s) => s.id).sort()).toEqual([...expected].sort());

    const found = await admin.api("GET", `/api/destinations/${destinationId}/recovery`);
    expect(found.status).toBe(200);
    const f = found.json<{
      found: boolean;
      snapshots: number;
      jobs: { id: string; snapshots: number; present: boolean }[];
    }>();
    expect(f.found).toBe(true);
    expect(f.snapshots).toBe(4);
    expect(f.jobs.map((j) => [j.id, j.snapshots, j.present])).toEqual(
      expect.arrayContaining([
        [jobsA[0]!.id, 3, false],
        [jobsA[1]!.id, 1, false],
      ]),
    );
    const page = await admin.request("GET", `/destinations/${destinationId}/recovery`);
    expect(page.status).toBe(200);
    expect(page.text).toContain("Documents");
    expect(page.text).not.toContain(PASS);

    const imported = await admin.api("POST", `/api/destinations/${destinationId}/recovery/import`, {});
    expect(imported.status).toBe(200);
    const result = imported.json<{ imported: { id: string; name: string }[]; historyRows: number }>();
    expect(result.imported.map((j) => j.id).sort()).toEqual([jobsA[0]!.id, jobsA[1]!.id].sort());
    expect(result.imported.find((j) => j.id === jobsA[1]!.id)?.name).toBe("Photos (recovered)");
    expect(result.historyRows).toBe(4);

    for (const original of jobsA.slice(0, 2)) {
      const job = (await admin.api("GET", `/api/configs/${original.id}`)).json<Job>();
      expect(job.destinationId).toBe(destinationId);
      expect(job.sources).toEqual(original.sources);
      expect(job.schedule).toEqual(original.schedule);
      expect(job.options.retention).toEqual(original.options.retention);
      expect(job.options.retentionDays).toEqual(original.options.retentionDays);
      expect(job.hooks).toEqual(original.hooks);
      const logs = (await admin.api("GET", `/api/backups/logs?configId=${original.id}&limit=50`)).json<{
        items: { trigger: string; status: string; snapshotId: string }[];
      }>().items;
      expect(logs.map((l) => l.snapshotId).sort()).toEqual([...snapshotsOf.get(original.id)!].sort());
      expect(logs.every((l) => l.trigger === "recovered" && l.status === "completed")).toBe(true);
    }
    // Importing again changes nothing: the jobs are already here.
    const again = (await admin.api("POST", `/api/destinations/${destinationId}/recovery/import`, {})).json<{
      imported: unknown[];
      historyRows: number;
    }>();
    expect(again.imported).toEqual([]);
    expect(again.historyRows).toBe(0);

    const run = await runJob(admin, jobsA[0]!.id);
    expect(run.snapshotId).toBeTruthy();
    const jobsPage = await admin.request("GET", "/configs");
    expect(jobsPage.text).toContain("Documents");
  }, 180_000);

  it("imports from the S3 destination through the htmx form; another user's destination id is 404", async () => {
    const admin = adminB!;
    const attached = await admin.api("POST", "/api/destinations", s3Destination("bucket again"));
    expect(attached.status).toBe(201);
    const id = attached.json<{ id: string }>().id;
    await admin.request("GET", `/destinations/${id}/recovery`);
    const jobId = jobsA[2]!.id;
    const r = await admin.form(
      `/destinations/${id}/recovery/import`,
      { [`job.${jobId}`]: "on" },
      { "hx-request": "true" },
    );
    expect(r.status).toBe(200);
    expect(r.text).toContain("Imported 1 job");
    expect(r.text).toContain("Offsite");
    const logs = (await admin.api("GET", `/api/backups/logs?configId=${jobId}&limit=50`)).json<{
      items: unknown[];
    }>();
    expect(logs.items.length).toBe(2);
    await runJob(admin, jobId);
    const alice = await addUser(serverB!, admin, ALICE);
    expect((await alice.api("GET", `/api/destinations/${id}/recovery`)).status).toBe(404);
    expect((await alice.api("POST", `/api/destinations/${id}/recovery/import`, {})).status).toBe(404);
    expect((await alice.request("GET", `/destinations/${id}/recovery`)).status).toBe(404);
    // Alice attaches the same bucket herself: the job is already on this server, so nothing is imported twice.
    const mine = await alice.api("POST", "/api/destinations", s3Destination("alice bucket"));
    expect(mine.status).toBe(201);
    const mineId = mine.json<{ id: string }>().id;
    const seen = (await alice.api("GET", `/api/destinations/${mineId}/recovery`)).json<{
      jobs: { id: string; present: boolean }[];
    }>();
    expect(seen.jobs).toEqual([expect.objectContaining({ id: jobId, present: true })]);
    const none = (await alice.api("POST", `/api/destinations/${mineId}/recovery/import`, {})).json<{
      imported: unknown[];
      skipped: { id: string; reason: string }[];
    }>();
    expect(none.imported).toEqual([]);
    expect(none.skipped).toEqual([{ id: jobId, name: "Offsite", reason: "already on this server" }]);
    const bad = await admin.api("POST", `/api/destinations/${id}/recovery/import`, { jobIds: "all" });
    expect(bad.status).toBe(400);
  }, 180_000);

  it("backapp repair history rebuilds run rows lost from the database, once", async () => {
    const admin = adminB!;
    const jobId = jobsA[0]!.id;
    const db = new Database(join(serverB!.dataDir, "backapp.db"));
    db.run("PRAGMA busy_timeout = 10000");
    const lost = db.run("DELETE FROM backup_logs WHERE config_id = ? AND trigger = 'recovered'", [
      jobId,
    ]).changes;
    db.close();
    expect(lost).toBe(3);
    const out = await runBackapp(["repair", "history", "--data-dir", serverB!.dataDir]);
    expect(out.code).toBe(0);
    expect(out.stdout).toContain("disk again: 5 snapshots, 3 runs added to the history");
    const logs = (await admin.api("GET", `/api/backups/logs?configId=${jobId}&limit=50`)).json<{
      items: { trigger: string; snapshotId: string }[];
    }>().items;
    const recovered = logs.filter((l) => l.trigger === "recovered").map((l) => l.snapshotId);
    expect(recovered.sort()).toEqual([...snapshotsOf.get(jobId)!].sort());
    const again = await runBackapp(["repair", "history", "--data-dir", serverB!.dataDir]);
    expect(again.stdout).toContain("disk again: 5 snapshots, 0 runs added to the history");
  }, 180_000);

  it("a changed job reaches the repository's copy without a run", async () => {
    const admin = adminB!;
    const jobId = jobsA[0]!.id;
    const job = (await admin.api("GET", `/api/configs/${jobId}`)).json<Job & Record<string, unknown>>();
    const put = await admin.api("PUT", `/api/configs/${jobId}`, { ...job, name: "Documents, renamed" });
    expect(put.status).toBe(200);
    const deadline = Date.now() + 120_000;
    let names: string[] = [];
    while (Date.now() < deadline) {
      const doc = JSON.parse(await storedCopy(local, PASS)) as { jobs: { name: string }[] };
      names = doc.jobs.map((j) => j.name);
      if (names.includes("Documents, renamed")) break;
      await Bun.sleep(500);
    }
    expect(names.sort()).toEqual(["Documents, renamed", "Photos (recovered)"]);
  }, 180_000);
});
