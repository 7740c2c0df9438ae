/**
 * Browse and restore through the real server against an S3 destination (s3rver over HTTP; the
 * product's own S3 backend, retry wrapper included, does every request): snapshots listed newest
 * first, a 250-entry folder paged, names searched, a file's versions across snapshots, and a
 * restore of the whole awkward tree (odd names, a non-UTF-8 name, deep paths, symlinks, a hard
 * link) followed over SSE to `done`, its files equal to the source byte for byte.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildAwkward, LATIN1_STORED } from "../engine/browse/fixture.ts";
import { type AuthTestServer, type Browser, setupAdmin, startAuthServer } from "../helpers/auth-server.ts";
import { startS3rver, type TestS3 } from "../helpers/s3rver.ts";
import { openSse } from "../helpers/sse.ts";
import { tempDir } from "../helpers/temp.ts";

let s3: TestS3;
let server: AuthTestServer;
let admin: Browser;
const work = tempDir("backapp-browse-s3-");
const src = join(work.path, "src");
let destinationId = "";
let jobId = "";
const snapshots: string[] = [];
const WIDE = 250;

const q = (params: Record<string, string>) => new URLSearchParams({ destinationId, ...params }).toString();

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, what: string): Promise<T> {
  for (let i = 0; i < 1200; i++) {
    const v = await read();
    if (ok(v)) return v;
    await Bun.sleep(100);
  }
  throw new Error(`gave up waiting for ${what}`);
}

async function backUp(): Promise<string> {
  const { logId } = (await admin.api("POST", `/api/backups/execute/${jobId}`)).json<{ logId: string }>();
  const log = await until(
    async () =>
      (await admin.api("GET", `/api/backups/${logId}`)).json<{ status: string; snapshotId: string }>(),
    (l) => l.status !== "queued" && l.status !== "running",
    "the backup",
  );
  expect(log.status).toBe("completed");
  return log.snapshotId;
}

beforeAll(async () => {
  s3 = await startS3rver();
  server = await startAuthServer();
  admin = await setupAdmin(server);
  mkdirSync(join(src, "wide"), { recursive: true });
  buildAwkward(src);
  for (let i = 0; i < WIDE; i++)
    writeFileSync(join(src, "wide", `f-${String(i).padStart(3, "0")}.txt`), `${i}`);
  const d = await admin.api("POST", "/api/destinations", {
    type: "s3",
    name: "bucket",
    bucket: s3.bucket,
    prefix: "browse",
    region: s3.region,
    endpoint: s3.endpoint,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    password: "a long repository passphrase for tests",
  });
  expect(d.status).toBe(201);
  destinationId = d.json<{ id: string }>().id;
  const j = await admin.api("POST", "/api/configs", {
    name: "Awkward on S3",
    sources: [{ path: src }],
    destinationId,
    schedule: { cronExpression: "", timezone: "UTC" },
  });
  expect(j.status).toBe(201);
  jobId = j.json<{ id: string }>().id;
  snapshots.push(await backUp());
  writeFileSync(join(src, "docs", "Report FINAL.pdf"), "pdf bytes, second edition");
  snapshots.push(await backUp());
}, 300_000);

afterAll(async () => {
  await server?.stop();
  await s3?.stop();
  work.cleanup();
});

describe("browse and restore on an S3 destination", () => {
  it("lists the job's snapshots newest first with the contract's keys", async () => {
    const list = (await admin.api("GET", `/api/snapshots?${q({ configId: jobId })}`)).json<{
      items: Record<string, unknown>[];
      nextCursor: string | null;
    }>();
    expect(list.items.map((s) => s.id)).toEqual([snapshots[1], snapshots[0]]);
    expect(Object.keys(list.items[0] ?? {})).toEqual(
      expect.arrayContaining([
        "id",
        "time",
        "hostname",
        "paths",
        "tags",
        "configId",
        "destinationId",
        "summary",
      ]),
    );
    expect(list.items[0]).toMatchObject({ configId: jobId, destinationId, paths: [src] });
  });

  it("pages a 250-entry folder without gaps or repeats, and lists odd names and symlinks", async () => {
    const names: string[] = [];
    let cursor = "";
    let pages = 0;
    do {
      const params = { path: `${src}/wide`, limit: "100", ...(cursor ? { cursor } : {}) };
      const page = (await admin.api("GET", `/api/snapshots/latest/tree?${q(params)}`)).json<{
        items: { name: string; type: string; size: number }[];
        nextCursor: string | null;
      }>();
      expect(page.items.length).toBeLessThanOrEqual(100);
      names.push(...page.items.map((x) => x.name));
      cursor = page.nextCursor ?? "";
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(names).toEqual(readdirSync(join(src, "wide")).sort());
    const docs = (await admin.api("GET", `/api/snapshots/latest/tree?${q({ path: `${src}/docs` })}`)).json<{
      items: { name: string; type: string }[];
    }>();
    expect(docs.items.map((x) => x.name)).toEqual(
      expect.arrayContaining([LATIN1_STORED, "ünïcödé 日本語.txt", 'quote"back\\slash;%.txt', "empty"]),
    );
    const deep = (await admin.api("GET", `/api/snapshots/latest/tree?${q({ path: `${src}/deep` })}`)).json<{
      items: { name: string; type: string; target?: string }[];
    }>();
    expect(deep.items.find((x) => x.name === "link")).toMatchObject({
      type: "symlink",
      target: "../docs/Report FINAL.pdf",
    });
  });

  it("searches names by substring and glob", async () => {
    const sub = (await admin.api("GET", `/api/snapshots/latest/search?${q({ q: "report" })}`)).json<{
      items: { path: string; type: string; size: number }[];
    }>();
    expect(sub.items).toEqual([
      expect.objectContaining({
        path: `${src}/docs/Report FINAL.pdf`,
        type: "file",
        size: "pdf bytes, second edition".length,
      }),
    ]);
    const glob = (await admin.api("GET", `/api/snapshots/latest/search?${q({ q: "f-24?.txt" })}`)).json<{
      items: { path: string }[];
    }>();
    expect(glob.items.map((x) => x.path).sort()).toEqual(
      Array.from({ length: 10 }, (_, i) => `${src}/wide/f-24${i}.txt`),
    );
  });

  it("lists a file's versions across the job's snapshots, with content changes", async () => {
    const path = `${src}/docs/Report FINAL.pdf`;
    const v = (
      await admin.api("GET", `/api/files/versions?${new URLSearchParams({ configId: jobId, path })}`)
    ).json<{
      items: { snapshotId: string; size: number; contentChanged: boolean }[];
    }>();
    expect(v.items.map((x) => [x.snapshotId, x.size, x.contentChanged])).toEqual([
      [snapshots[1], "pdf bytes, second edition".length, true],
      [snapshots[0], "pdf bytes".length, true],
    ]);
    const same = `${src}/docs/big.bin`;
    const unchanged = (
      await admin.api("GET", `/api/files/versions?${new URLSearchParams({ configId: jobId, path: same })}`)
    ).json<{ items: { contentChanged: boolean }[] }>();
    expect(unchanged.items.map((x) => x.contentChanged)).toEqual([false, true]);
  });

  it("restores the awkward tree with SSE progress to done, equal to the source byte for byte", async () => {
    const target = join(work.path, "restored");
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
    expect(messages.slice(0, -1).every((m) => m.event === "progress")).toBe(true);
    const done = messages.at(-1);
    expect(done?.event).toBe("done");
    const end = JSON.parse(done?.data ?? "{}") as {
      status: string;
      filesRestored: number;
      errors: unknown[];
    };
    expect(end).toMatchObject({ status: "completed", errors: [] });
    expect(end.filesRestored).toBeGreaterThan(WIDE);
    // diff compares every file's bytes, symlink targets (not followed) and the tree's shape.
    const diff = spawnSync("diff", ["-r", "--no-dereference", src, join(target, src)]);
    expect(diff.stdout.toString() + diff.stderr.toString()).toBe("");
    expect(diff.status).toBe(0);
  }, 300_000);
});
