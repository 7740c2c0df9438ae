/**
 * Restores through the real server: queued like a backup and run in the child process; live SSE
 * progress ends in `done` and the target matches the source; the existing-files choice (skip,
 * overwrite, keep both); a target holding a symlink that points outside gets nothing written
 * outside, whatever the choice; another user's restore is 404.
 */
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildAwkward } from "../engine/browse/fixture.ts";
import {
  ALICE,
  type AuthTestServer,
  addUser,
  type Browser,
  setupAdmin,
  startAuthServer,
} from "../helpers/auth-server.ts";
import { openSse } from "../helpers/sse.ts";
import { tempDir } from "../helpers/temp.ts";

let server: AuthTestServer;
let admin: Browser;
let alice: Browser;
const work = tempDir("backapp-restores-");
const src = join(work.path, "src");
let destinationId = "";

interface RestoreJson {
  id: string;
  status: string;
  filesRestored: number;
  bytesRestored: number;
  errors: unknown[];
  startTime: string;
  endTime: string | null;
}

async function waitFor(b: Browser, path: string, done: (body: Record<string, unknown>) => boolean) {
  for (let i = 0; i < 600; i++) {
    const body = (await b.api("GET", path)).json<Record<string, unknown>>();
    if (done(body)) return body;
    await Bun.sleep(100);
  }
  throw new Error(`${path} did not settle`);
}

async function restore(target: string, existing: string, paths: string[] = []): Promise<RestoreJson> {
  const r = await admin.api("POST", "/api/restores", {
    destinationId,
    snapshotId: "latest",
    paths,
    target,
    existing,
  });
  expect(r.status).toBe(202);
  const { restoreId } = r.json<{ restoreId: string }>();
  const end = await waitFor(
    admin,
    `/api/restores/${restoreId}`,
    (b) => b.status !== "queued" && b.status !== "running",
  );
  return end as unknown as RestoreJson;
}

beforeAll(async () => {
  server = await startAuthServer();
  admin = await setupAdmin(server);
  alice = await addUser(server, admin, ALICE);
  mkdirSync(src);
  buildAwkward(src);
  const d = await admin.api("POST", "/api/destinations", {
    type: "local",
    name: "disk",
    path: join(work.path, "repo"),
    password: "a long repository passphrase for tests",
  });
  destinationId = d.json<{ id: string }>().id;
  const j = await admin.api("POST", "/api/configs", {
    name: "Awkward",
    sources: [{ path: src }],
    destinationId,
    schedule: { cronExpression: "", timezone: "UTC" },
  });
  const { logId } = (await admin.api("POST", `/api/backups/execute/${j.json<{ id: string }>().id}`)).json<{
    logId: string;
  }>();
  await waitFor(admin, `/api/backups/${logId}`, (b) => b.status === "completed");
}, 180_000);

afterAll(async () => {
  await server.stop();
  work.cleanup();
});

describe("/api/restores", () => {
  it("restores the snapshot with live SSE progress ending in done, and the target matches the source", async () => {
    const target = join(work.path, "t-sse");
    const r = await admin.api("POST", "/api/restores", {
      destinationId,
      snapshotId: "latest",
      paths: [],
      target,
      existing: "skip",
    });
    expect(r.status).toBe(202);
    const { restoreId } = r.json<{ restoreId: string }>();
    const sse = await openSse(`${server.url}/api/restores/${restoreId}/events`, {
      cookie: [...admin.cookies].map(([k, v]) => `${k}=${v}`).join("; "),
    });
    expect(sse.status).toBe(200);
    const messages = await sse.rest();
    const done = messages.at(-1);
    expect(done?.event).toBe("done");
    const end = JSON.parse(done?.data ?? "{}") as RestoreJson;
    expect(end).toMatchObject({ id: restoreId, status: "completed", errors: [] });
    expect(end.filesRestored).toBeGreaterThan(5);
    expect(end.bytesRestored).toBeGreaterThan(700_000);
    expect(messages.slice(0, -1).every((m) => m.event === "progress")).toBe(true);
    const diff = spawnSync("diff", ["-r", "--no-dereference", src, join(target, src)]);
    expect(diff.stdout.toString() + diff.stderr.toString()).toBe("");
    const json = (await admin.api("GET", `/api/restores/${restoreId}`)).json<Record<string, unknown>>();
    expect(Object.keys(json)).toEqual(
      expect.arrayContaining([
        "id",
        "status",
        "filesRestored",
        "bytesRestored",
        "errors",
        "startTime",
        "endTime",
      ]),
    );
    expect(readdirSync(target)).not.toContainEqual(expect.stringMatching(/^\.backapp-restore/));
  }, 180_000);

  it("skips, overwrites or keeps both for files the target already has", async () => {
    const target = join(work.path, "t-existing");
    const docs = `${src}/docs`;
    expect((await restore(target, "skip", [docs])).status).toBe("completed");
    const report = join(target, docs, "Report FINAL.pdf");
    writeFileSync(report, "changed since");
    const skipped = await restore(target, "skip", [docs]);
    expect(skipped.status).toBe("completed");
    expect(readFileSync(report, "utf8")).toBe("changed since");
    expect(existsSync(join(target, docs, "Report FINAL (restored).pdf"))).toBe(false);
    expect((await restore(target, "rename", [`${docs}/Report FINAL.pdf`])).status).toBe("completed");
    expect(readFileSync(report, "utf8")).toBe("changed since");
    expect(readFileSync(join(target, docs, "Report FINAL (restored).pdf"), "utf8")).toBe("pdf bytes");
    expect((await restore(target, "overwrite", [`${docs}/Report FINAL.pdf`])).status).toBe("completed");
    expect(readFileSync(report, "utf8")).toBe("pdf bytes");
  }, 180_000);

  it("writes nothing outside the target through a symlink planted in it, whatever the choice", async () => {
    const outside = join(work.path, "outside");
    mkdirSync(outside);
    const first = src.split("/")[1] as string;
    for (const existing of ["skip", "rename", "overwrite"]) {
      const target = join(work.path, `t-link-${existing}`);
      mkdirSync(target);
      symlinkSync(outside, join(target, first));
      const end = await restore(target, existing);
      expect(["completed", "partial"]).toContain(end.status);
      expect([existing, readdirSync(outside)]).toEqual([existing, []]);
    }
    rmSync(outside, { recursive: true });
  }, 180_000);

  it("a user restores only inside their allowed roots, also through a symlink there", async () => {
    const me = (await alice.api("GET", "/api/profile")).json<{ user: { id: string } }>();
    const root = join(work.path, "alice-root");
    mkdirSync(root);
    symlinkSync(work.path, join(root, "escape"));
    expect((await admin.api("PATCH", `/api/users/${me.user.id}`, { allowedRoots: [root] })).status).toBe(200);
    const d = await alice.api("POST", "/api/destinations", {
      type: "local",
      name: "mine",
      path: join(root, "repo"),
      password: "alice's repository passphrase",
    });
    expect(d.status).toBe(201);
    const mine = d.json<{ id: string }>().id;
    const ask = (target: string) =>
      alice.api("POST", "/api/restores", { destinationId: mine, snapshotId: "latest", target });
    expect((await ask(join(work.path, "t-alice"))).status).toBe(403);
    expect((await ask(join(root, "escape", "t"))).status).toBe(403);
    expect((await ask("relative/t")).status).toBe(403);
    // Inside the roots the request passes the checks (and finds no snapshot in her empty repository).
    expect((await ask(join(root, "t"))).status).toBe(404);
  }, 180_000);

  it("another user's restore is 404, and so is an unknown snapshot", async () => {
    const r = await admin.api("POST", "/api/restores", {
      destinationId,
      snapshotId: "latest",
      target: join(work.path, "t-x"),
    });
    const { restoreId } = r.json<{ restoreId: string }>();
    await waitFor(
      admin,
      `/api/restores/${restoreId}`,
      (b) => b.status !== "queued" && b.status !== "running",
    );
    expect((await alice.api("GET", `/api/restores/${restoreId}`)).status).toBe(404);
    expect((await alice.api("GET", `/api/restores/${restoreId}/events`)).status).toBe(404);
    expect((await alice.api("POST", `/api/restores/${restoreId}/cancel`)).status).toBe(404);
    expect((await alice.api("GET", "/api/restores/nope")).status).toBe(404);
    const missing = await admin.api("POST", "/api/restores", {
      destinationId,
      snapshotId: "0000000000000000",
      target: join(work.path, "t-y"),
    });
    expect(missing.status).toBe(404);
  }, 180_000);
});
