/**
 * The browse API through the real server and a real repository in a local folder: snapshots of an
 * awkward tree (odd names, a non-UTF-8 name, deep paths, symlinks) listed, paged, searched,
 * downloaded byte for byte (a file; a folder as a tar extracted with GNU tar), versions of a file;
 * traversal attempts in every path parameter refused; another user's ids 404.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildAwkward, LATIN1_STORED } from "../engine/browse/fixture.ts";
import {
  ALICE,
  type AuthTestServer,
  addUser,
  type Browser,
  setupAdmin,
  startAuthServer,
} from "../helpers/auth-server.ts";
import { tempDir } from "../helpers/temp.ts";

const PASSPHRASE = "a long repository passphrase for tests";

let server: AuthTestServer;
let admin: Browser;
let alice: Browser;
const work = tempDir("backapp-snapshots-");
const src = join(work.path, "src");
let destinationId = "";
let jobId = "";
let big: Buffer;
const snapshots: string[] = [];

type Json = Record<string, unknown>;

async function runJob(): Promise<string> {
  const { logId } = (await admin.api("POST", `/api/backups/execute/${jobId}`)).json<{ logId: string }>();
  for (let i = 0; i < 600; i++) {
    const log = (await admin.api("GET", `/api/backups/${logId}`)).json<{
      status: string;
      snapshotId: string;
    }>();
    if (log.status === "completed") return log.snapshotId;
    if (log.status !== "queued" && log.status !== "running") throw new Error(JSON.stringify(log));
    await Bun.sleep(100);
  }
  throw new Error("backup did not end");
}

const q = (params: Record<string, string>) => new URLSearchParams({ destinationId, ...params }).toString();

beforeAll(async () => {
  server = await startAuthServer();
  admin = await setupAdmin(server);
  alice = await addUser(server, admin, ALICE);
  mkdirSync(src);
  big = buildAwkward(src);
  const d = await admin.api("POST", "/api/destinations", {
    type: "local",
    name: "disk",
    path: join(work.path, "repo"),
    password: PASSPHRASE,
  });
  expect(d.status).toBe(201);
  destinationId = d.json<{ id: string }>().id;
  const j = await admin.api("POST", "/api/configs", {
    name: "Awkward",
    sources: [{ path: src }],
    destinationId,
    schedule: { cronExpression: "", timezone: "UTC" },
  });
  jobId = j.json<{ id: string }>().id;
  snapshots.push(await runJob());
  writeFileSync(join(src, "docs", "Report FINAL.pdf"), "pdf bytes, second edition");
  snapshots.push(await runJob());
}, 180_000);

afterAll(async () => {
  await server.stop();
  work.cleanup();
});

describe("/api/snapshots", () => {
  it("lists a job's snapshots newest first with the contract's keys", async () => {
    const r = await admin.api("GET", `/api/snapshots?configId=${jobId}&destinationId=${destinationId}`);
    expect(r.status).toBe(200);
    const body = r.json<{ items: Json[]; nextCursor: string | null }>();
    expect(body.items.map((s) => s.id)).toEqual([...snapshots].reverse());
    expect(Object.keys(body.items[0] ?? {})).toEqual(
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
    expect(body.items[0]).toMatchObject({ configId: jobId, destinationId, paths: [src] });
    expect(body.nextCursor).toBeNull();
    const paged = (await admin.api("GET", `/api/snapshots?destinationId=${destinationId}&limit=1`)).json<{
      items: Json[];
      nextCursor: string;
    }>();
    expect(paged.items.map((s) => s.id)).toEqual([snapshots[1]]);
    const rest = (
      await admin.api(
        "GET",
        `/api/snapshots?destinationId=${destinationId}&limit=1&cursor=${paged.nextCursor}`,
      )
    ).json<{ items: Json[] }>();
    expect(rest.items.map((s) => s.id)).toEqual([snapshots[0]]);
  });

  it("lists every destination's snapshots without filters; an unreadable one is reported, not fatal", async () => {
    const gone = join(work.path, "gone-repo");
    const d = await admin.api("POST", "/api/destinations", {
      type: "local",
      name: "gone",
      path: gone,
      password: PASSPHRASE,
    });
    expect(d.status).toBe(201);
    rmSync(gone, { recursive: true });
    const all = (await admin.api("GET", "/api/snapshots")).json<{
      items: Json[];
      unavailable: { destinationId: string }[];
    }>();
    expect(all.items.map((s) => s.id)).toEqual([...snapshots].reverse());
    expect(all.unavailable.map((u) => u.destinationId)).toEqual([d.json<{ id: string }>().id]);
    const page = await admin.get("/snapshots");
    expect(page.status).toBe(200);
    expect(page.text).toContain("Could not read the destination “gone”");
    expect(
      (await admin.api("DELETE", `/api/destinations/${d.json<{ id: string }>().id}`)).status,
    ).toBeLessThan(300);
  });

  it("lists directories in pages, with types, symlink targets and a non-UTF-8 name; latest and prefixes resolve", async () => {
    const names: string[] = [];
    let cursor = "";
    for (let i = 0; i < 20; i++) {
      const params = { path: `${src}/docs`, limit: "3", ...(cursor ? { cursor } : {}) };
      const page = (await admin.api("GET", `/api/snapshots/latest/tree?${q(params)}`)).json<{
        path: string;
        items: { name: string; type: string; size: number }[];
        nextCursor: string | null;
      }>();
      expect(page.items.length).toBeLessThanOrEqual(3);
      names.push(...page.items.map((x) => x.name));
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    expect(names).toContain(LATIN1_STORED);
    expect(names).toContain("ünïcödé 日本語.txt");
    expect(names).toContain('quote"back\\slash;%.txt');
    expect(names).toContain("empty");
    const deep = (
      await admin.api(
        "GET",
        `/api/snapshots/${snapshots[0]?.slice(0, 10)}/tree?${q({ path: `${src}/deep` })}`,
      )
    ).json<{ items: { name: string; type: string; target?: string }[] }>();
    expect(deep.items.find((x) => x.name === "link")).toMatchObject({
      type: "symlink",
      target: "../docs/Report FINAL.pdf",
    });
    // The lossless token reaches the non-UTF-8 name's folder listing as well as its bytes.
    const token = Buffer.concat([
      Buffer.from(`${src}/docs/`),
      Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x2e, 0x74, 0x78, 0x74]),
    ]).toString("base64url");
    const latin = await admin.request("GET", `/api/snapshots/latest/download?${q({ p: token })}`);
    expect(latin.status).toBe(200);
    expect(latin.text).toBe("latin1");
  });

  it("searches names by substring and glob", async () => {
    const sub = (await admin.api("GET", `/api/snapshots/latest/search?${q({ q: "report" })}`)).json<{
      items: { path: string; type: string; size: number }[];
    }>();
    expect(sub.items.map((x) => x.path)).toEqual([`${src}/docs/Report FINAL.pdf`]);
    const glob = (await admin.api("GET", `/api/snapshots/latest/search?${q({ q: "*.txt" })}`)).json<{
      items: { path: string }[];
    }>();
    expect(glob.items.some((x) => x.path.endsWith(`${"n".repeat(150)}.txt`))).toBe(true);
  });

  it("downloads a file with exact length and a safe name, and a folder as a tar GNU tar extracts byte for byte", async () => {
    const res = await fetch(
      `${server.url}/api/snapshots/latest/download?${q({ path: `${src}/docs/big.bin` })}`,
      {
        headers: { cookie: [...admin.cookies].map(([k, v]) => `${k}=${v}`).join("; ") },
      },
    );
    expect(res.status).toBe(200);
    // Bun.serve drops a handler's Content-Length on a streamed body (oven-sh/bun#10507) and
    // sends it chunked; the route sets it, so it is right wherever it survives.
    expect([null, String(big.length)]).toContain(res.headers.get("content-length"));
    expect(res.headers.get("content-disposition")).toBe(
      `attachment; filename="big.bin"; filename*=UTF-8''big.bin`,
    );
    expect(Buffer.from(await res.arrayBuffer()).equals(big)).toBe(true);
    const odd = await admin.request(
      "GET",
      `/api/snapshots/latest/download?${q({ path: `${src}/docs/quote"back\\slash;%.txt` })}`,
    );
    const disposition = odd.headers.get("content-disposition") ?? "";
    expect(disposition).toMatch(/^attachment; filename="[^"\\\r\n]*"; filename\*=UTF-8''/);
    const tarRes = await fetch(`${server.url}/api/snapshots/latest/download?${q({ path: `${src}/docs` })}`, {
      headers: { cookie: [...admin.cookies].map(([k, v]) => `${k}=${v}`).join("; ") },
    });
    expect(tarRes.headers.get("content-type")).toBe("application/x-tar");
    const tarFile = join(work.path, "docs.tar");
    const bytes = Buffer.from(await tarRes.arrayBuffer());
    expect([null, String(bytes.length)]).toContain(tarRes.headers.get("content-length"));
    writeFileSync(tarFile, bytes);
    const out = join(work.path, "untar");
    mkdirSync(out);
    expect(spawnSync("tar", ["-xf", tarFile, "-C", out]).status).toBe(0);
    const diff = spawnSync("diff", ["-r", "--no-dereference", join(src, "docs"), join(out, "docs")]);
    expect(diff.stdout.toString() + diff.stderr.toString()).toBe("");
    expect(diff.status).toBe(0);
    expect(readFileSync(join(out, "docs", "big.bin")).equals(big)).toBe(true);
  });

  it("lists a file's versions across the job's snapshots, newest first, with content changes", async () => {
    const v = (
      await admin.api(
        "GET",
        `/api/files/versions?configId=${jobId}&path=${encodeURIComponent(`${src}/docs/Report FINAL.pdf`)}`,
      )
    ).json<{ items: { snapshotId: string; size: number; contentChanged: boolean }[] }>();
    expect(v.items.map((x) => x.snapshotId)).toEqual([...snapshots].reverse());
    expect(v.items.map((x) => x.contentChanged)).toEqual([true, true]);
    const same = (
      await admin.api(
        "GET",
        `/api/files/versions?configId=${jobId}&path=${encodeURIComponent(`${src}/docs/big.bin`)}`,
      )
    ).json<{ items: { contentChanged: boolean; time: string; mtime: string }[] }>();
    expect(same.items.map((x) => x.contentChanged)).toEqual([false, true]);
    expect(Object.keys(same.items[0] ?? {})).toEqual(
      expect.arrayContaining(["snapshotId", "time", "size", "mtime", "contentChanged"]),
    );
  });

  it("refuses traversal in every path parameter (.., relative, encoded, NUL, bad tokens)", async () => {
    const bad = [
      `path=${encodeURIComponent(`${src}/../etc`)}`,
      "path=..%2F..%2Fetc%2Fpasswd",
      "path=%2e%2e",
      "path=%2E%2E%2Fetc",
      "path=etc%2Fpasswd",
      `path=${encodeURIComponent(src)}%00x`,
      "p=..%2F",
      `p=${Buffer.from("/a/../../etc").toString("base64url")}`,
    ];
    for (const param of bad) {
      for (const kind of ["tree", "download"]) {
        const r = await admin.api(
          "GET",
          `/api/snapshots/latest/${kind}?destinationId=${destinationId}&${param}`,
        );
        expect([r.status, kind, param]).toEqual([400, kind, param]);
      }
      const v = await admin.api("GET", `/api/files/versions?configId=${jobId}&${param}`);
      expect([v.status, param]).toEqual([400, param]);
    }
    const r = await admin.api("POST", "/api/restores", {
      destinationId,
      snapshotId: "latest",
      paths: [`${src}/../..`],
      target: join(work.path, "t"),
      existing: "skip",
    });
    expect(r.status).toBe(400);
    const rel = await admin.api("POST", "/api/restores", {
      destinationId,
      snapshotId: "latest",
      paths: [],
      target: "rel/dir",
      existing: "skip",
    });
    expect(rel.status).toBe(403);
    expect((await admin.api("GET", `/api/snapshots/..%2F..%2Fx/tree?${q({})}`)).status).toBe(404);
  });

  it("another user's destination, job and snapshots are 404; their own list is empty", async () => {
    expect((await alice.api("GET", `/api/snapshots?destinationId=${destinationId}`)).status).toBe(404);
    expect((await alice.api("GET", `/api/snapshots?configId=${jobId}`)).status).toBe(404);
    expect((await alice.api("GET", `/api/snapshots/latest/tree?${q({})}`)).status).toBe(404);
    expect((await alice.api("GET", `/api/snapshots/latest/search?${q({ q: "a" })}`)).status).toBe(404);
    expect(
      (await alice.api("GET", `/api/snapshots/latest/download?${q({ path: `${src}/docs/big.bin` })}`)).status,
    ).toBe(404);
    expect((await alice.api("GET", `/api/files/versions?configId=${jobId}&path=/x`)).status).toBe(404);
    expect((await alice.api("GET", "/api/snapshots")).json<{ items: unknown[] }>().items).toEqual([]);
    const r = await alice.api("POST", "/api/restores", {
      destinationId,
      snapshotId: "latest",
      paths: [],
      target: "/tmp/x",
    });
    expect(r.status).toBe(404);
    expect((await admin.api("GET", `/api/snapshots/ffffffffffff/tree?${q({})}`)).status).toBe(404);
  });

  it("pages: the list, a snapshot's folders, a lazy folder page, search, versions, a restore form that runs", async () => {
    const list = await admin.get(`/snapshots?configId=${jobId}`);
    expect(list.status).toBe(200);
    expect(list.text).toContain(`/snapshots/${snapshots[1]}?destinationId=${destinationId}`);
    const token = Buffer.from(`${src}/docs`).toString("base64url");
    const page = await admin.get(
      `/snapshots/${snapshots[1]}?destinationId=${destinationId}&configId=${jobId}&p=${token}`,
    );
    expect(page.status).toBe(200);
    expect(page.text).toContain("Report FINAL.pdf");
    expect(page.text).toContain("quote&quot;back\\slash;%.txt");
    expect(page.text).toContain("/snapshots/versions?configId=");
    const part = await admin.get(
      `/snapshots/${snapshots[1]}/dir?destinationId=${destinationId}&path=${encodeURIComponent(`${src}/deep`)}`,
    );
    expect(part.text).toContain("long-link");
    expect(part.text).not.toContain("<html");
    const found = await admin.get(
      `/snapshots/${snapshots[1]}/search?destinationId=${destinationId}&q=report`,
    );
    expect(found.text).toContain("Report FINAL.pdf");
    const versions = await admin.get(
      `/snapshots/versions?configId=${jobId}&path=${encodeURIComponent(`${src}/docs/Report FINAL.pdf`)}`,
    );
    expect(versions.text).toContain(snapshots[0]?.slice(0, 8));
    expect(versions.text).toContain(snapshots[1]?.slice(0, 8));
    const target = join(work.path, "page-restore");
    const started = await admin.form(`/snapshots/${snapshots[1]}/restore`, {
      destinationId,
      p: token,
      target,
      existing: "skip",
    });
    expect(started.status).toBe(303);
    const where = started.headers.get("location") ?? "";
    let status = "";
    for (let i = 0; i < 600 && status !== "completed"; i++) {
      status = /data-status="([a-z]+)"/.exec((await admin.get(where)).text)?.[1] ?? "";
      if (status === "failed") break;
      await Bun.sleep(100);
    }
    expect(status).toBe("completed");
    expect(readFileSync(join(target, src, "docs", "big.bin")).equals(big)).toBe(true);
    expect((await alice.get(where)).status).toBe(404);
  }, 180_000);
});
