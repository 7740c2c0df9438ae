/**
 * Downloads run in a child process (`__run`, kind "download"), through the real server: pages
 * are answered while a large download is in flight and held open by its client, another
 * download's bytes arrive whole meanwhile; a client that leaves ends the child (no process left
 * behind); each user has a cap on downloads at once (429, the slot comes back when a download
 * ends); a missing path is a clean JSON 404 before any byte. And the browse API against s3rver:
 * a file and a folder (tar) downloaded byte for byte, storage usage read in a child.
 */
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, readlinkSync, realpathSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DOWNLOADS_PER_USER } from "../../src/jobs/download-slots.ts";
import { buildAwkward } from "../engine/browse/fixture.ts";
import { type AuthTestServer, type Browser, setupAdmin, startAuthServer } from "../helpers/auth-server.ts";
import { startS3rver, type TestS3 } from "../helpers/s3rver.ts";
import { tempDir } from "../helpers/temp.ts";

const PASSPHRASE = "a long repository passphrase for tests";
const BIG = 24 * 1024 * 1024;
/** A sparse file: quick to back up (one zero blob), far larger than any buffer on the way. */
const HOLE = 1024 * 1024 * 1024;

let server: AuthTestServer;
let admin: Browser;
let s3: TestS3;
const work = tempDir("backapp-downloads-");
const bigSrc = join(work.path, "big");
const awkSrc = join(work.path, "awkward");
let bigBytes: Buffer;
let localId = "";
let s3Id = "";

async function waitFor(what: string, ok: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

/** This server's `__run` children (it runs in-process here; its children run in its data dir). */
function runChildren(): number[] {
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const cmd = readFileSync(`/proc/${name}/cmdline`, "utf8");
      // Other test files share this process (threads pool): only this server's children count.
      const mine = ppid === process.pid && readlinkSync(`/proc/${name}/cwd`) === realpathSync(server.dataDir);
      if (mine && cmd.includes("__run")) pids.push(Number(name));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

async function backUp(destinationId: string, name: string, src: string): Promise<void> {
  const j = await admin.api("POST", "/api/configs", {
    name,
    sources: [{ path: src }],
    destinationId,
    schedule: { cronExpression: "", timezone: "UTC" },
  });
  expect(j.status).toBe(201);
  const jobId = j.json<{ id: string }>().id;
  const { logId } = (await admin.api("POST", `/api/backups/execute/${jobId}`)).json<{ logId: string }>();
  let status = "";
  await waitFor(`backup ${name}`, async () => {
    status = (await admin.api("GET", `/api/backups/${logId}`)).json<{ status: string }>().status;
    return status !== "queued" && status !== "running";
  });
  expect(status).toBe("completed");
}

function downloadUrl(destinationId: string, path: string): string {
  return `${server.url}/api/snapshots/latest/download?${new URLSearchParams({ destinationId, path })}`;
}

function open(destinationId: string, path: string): Promise<Response> {
  const cookie = [...admin.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  return fetch(downloadUrl(destinationId, path), { headers: { cookie } });
}

/** A download over a raw socket that reads the response head and then stops reading. */
async function holdOpen(destinationId: string, path: string): Promise<{ socket: Socket; head: string }> {
  const url = new URL(downloadUrl(destinationId, path));
  const cookie = [...admin.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  const socket = connect(Number(url.port), url.hostname);
  socket.write(
    `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nCookie: ${cookie}\r\nConnection: close\r\n\r\n`,
  );
  const head = await new Promise<string>((resolve, reject) => {
    let buffered = "";
    const onData = (d: Buffer) => {
      buffered += d.toString("latin1");
      const end = buffered.indexOf("\r\n\r\n");
      if (end < 0) return;
      socket.off("data", onData);
      socket.pause();
      resolve(buffered.slice(0, end));
    };
    socket.on("data", onData);
    socket.on("error", reject);
  });
  return { socket, head };
}

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** One request over a raw socket, read to the end: the head exactly as sent, and the body bytes. */
async function rawRequest(method: string, url: URL): Promise<{ head: string; body: Buffer }> {
  const cookie = [...admin.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  const socket = connect(Number(url.port), url.hostname);
  socket.write(
    `${method} ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nCookie: ${cookie}\r\nConnection: close\r\n\r\n`,
  );
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve) => {
    socket.on("data", (d: Buffer) => chunks.push(d));
    socket.on("close", () => resolve());
    socket.on("error", () => {});
  });
  const all = Buffer.concat(chunks);
  const end = all.indexOf("\r\n\r\n");
  return { head: all.subarray(0, end).toString("latin1"), body: all.subarray(end + 4) };
}

/** A header's value in a raw head (names compare case-insensitively), or null. */
function header(head: string, name: string): string | null {
  for (const line of head.split("\r\n").slice(1)) {
    const colon = line.indexOf(":");
    if (line.slice(0, colon).toLowerCase() === name) return line.slice(colon + 1).trim();
  }
  return null;
}

beforeAll(async () => {
  s3 = await startS3rver();
  server = await startAuthServer();
  admin = await setupAdmin(server);
  mkdirSync(bigSrc);
  bigBytes = randomBytes(BIG);
  writeFileSync(join(bigSrc, "big.bin"), bigBytes);
  expect(spawnSync("truncate", ["-s", String(HOLE), join(bigSrc, "hole.bin")]).status).toBe(0);
  mkdirSync(awkSrc);
  buildAwkward(awkSrc);
  const local = await admin.api("POST", "/api/destinations", {
    type: "local",
    name: "disk",
    path: join(work.path, "repo"),
    password: PASSPHRASE,
  });
  expect(local.status).toBe(201);
  localId = local.json<{ id: string }>().id;
  const remote = await admin.api("POST", "/api/destinations", {
    type: "s3",
    name: "bucket",
    bucket: s3.bucket,
    prefix: "downloads",
    region: s3.region,
    endpoint: s3.endpoint,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    password: PASSPHRASE,
  });
  expect(remote.status).toBe(201);
  s3Id = remote.json<{ id: string }>().id;
  await backUp(localId, "Big", bigSrc);
  await backUp(s3Id, "Awkward", awkSrc);
}, 300_000);

afterAll(async () => {
  await server.stop();
  await s3.stop();
  work.cleanup();
});

describe("downloads in a child process", () => {
  it("answers pages while a large download is held open, in a child; another download arrives whole meanwhile", async () => {
    // Held after the headers: 1 GiB cannot fit in the pipe and socket buffers, so it stays in flight.
    const held = await holdOpen(localId, join(bigSrc, "hole.bin"));
    expect(held.head).toMatch(/^HTTP\/1\.1 200/);
    expect(runChildren().length).toBe(1);
    const page = await admin.get("/snapshots");
    expect(page.status).toBe(200);
    const tree = await admin.api(
      "GET",
      `/api/snapshots/latest/tree?${new URLSearchParams({ destinationId: localId, path: bigSrc })}`,
    );
    expect(tree.json<{ items: { name: string }[] }>().items.map((i) => i.name)).toEqual([
      "big.bin",
      "hole.bin",
    ]);
    const whole = await open(localId, join(bigSrc, "big.bin"));
    expect(sha(new Uint8Array(await whole.arrayBuffer()))).toBe(sha(bigBytes));
    // Still in flight: the held download's child is still there (it cannot have finished).
    expect(runChildren().length).toBeGreaterThanOrEqual(1);
    held.socket.destroy();
    await waitFor("the children to exit", () => runChildren().length === 0);
  }, 120_000);

  it("ends the child when the client leaves mid-download", async () => {
    // A client that stops reading after the headers: the 1 GiB cannot fit in the pipe and socket
    // buffers, so the child cannot finish by itself; it ends only because the client left.
    const held = await holdOpen(localId, join(bigSrc, "hole.bin"));
    expect(held.head).toMatch(/^HTTP\/1\.1 200/);
    expect(runChildren().length).toBe(1);
    held.socket.destroy();
    await waitFor("no download child left", () => runChildren().length === 0);
  }, 60_000);

  it("caps a user's downloads at once with 429 and gives the slot back when one ends", async () => {
    const hole = join(bigSrc, "hole.bin");
    const held = await Promise.all(Array.from({ length: DOWNLOADS_PER_USER }, () => holdOpen(localId, hole)));
    expect(held.map((h) => h.head.slice(0, 12))).toEqual(held.map(() => "HTTP/1.1 200"));
    const query = (path: string) => new URLSearchParams({ destinationId: localId, path });
    const over = await admin.get(`/api/snapshots/latest/download?${query(hole)}`);
    expect(over.status).toBe(429);
    expect(over.headers.get("retry-after")).toBe("10");
    expect(over.json<{ error: { message: string } }>().error.message).toContain("downloads running");
    for (const h of held) h.socket.destroy();
    await waitFor("the held downloads to end", () => runChildren().length === 0);
    // A slot is free again: the request reaches the child, which answers a clean JSON 404.
    const again = await admin.get(`/api/snapshots/latest/download?${query(join(bigSrc, "nope.bin"))}`);
    expect(again.status).toBe(404);
    expect(again.headers.get("content-type")).toContain("application/json");
    expect(again.json<{ error: { status: number } }>().error.status).toBe(404);
  }, 120_000);
});

describe("the browse API against s3rver", () => {
  it("downloads a file and a folder (tar) byte for byte", async () => {
    const file = join(awkSrc, "docs", "big.bin");
    const res = await open(s3Id, file);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(readFileSync(file))).toBe(true);
    const tar = await open(s3Id, join(awkSrc, "docs"));
    expect(tar.headers.get("content-type")).toBe("application/x-tar");
    expect(tar.headers.get("content-disposition")).toBe(
      `attachment; filename="docs.tar"; filename*=UTF-8''docs.tar`,
    );
    const tarFile = join(work.path, "docs.tar");
    writeFileSync(tarFile, Buffer.from(await tar.arrayBuffer()));
    const out = join(work.path, "untar");
    mkdirSync(out);
    expect(spawnSync("tar", ["-xf", tarFile, "-C", out]).status).toBe(0);
    const diff = spawnSync("diff", ["-r", "--no-dereference", join(awkSrc, "docs"), join(out, "docs")]);
    expect(diff.stdout.toString() + diff.stderr.toString()).toBe("");
    expect(diff.status).toBe(0);
    await waitFor("no download child left", () => runChildren().length === 0);
  }, 120_000);

  it("reports storage usage of the s3rver destination, read in a child", async () => {
    const usage = (await admin.api("GET", "/api/storage/usage")).json<{
      items: { destinationId: string; error: string | null; snapshots: number; storedBytes: number }[];
    }>();
    const mine = usage.items.find((i) => i.destinationId === s3Id);
    expect(mine).toMatchObject({ error: null, snapshots: 1 });
    expect(mine?.storedBytes).toBeGreaterThan(0);
  }, 120_000);
});

describe("Content-Length on the wire (raw responses)", () => {
  it("a file: exact Content-Length, no chunking, the body whole; HEAD answers the same headers", async () => {
    const url = new URL(downloadUrl(localId, join(bigSrc, "big.bin")));
    const got = await rawRequest("GET", url);
    expect(got.head).toMatch(/^HTTP\/1\.1 200/);
    expect(header(got.head, "content-length")).toBe(String(BIG));
    expect(header(got.head, "transfer-encoding")).toBeNull();
    expect(sha(got.body)).toBe(sha(bigBytes));
    const head = await rawRequest("HEAD", url);
    expect(head.head).toMatch(/^HTTP\/1\.1 200/);
    expect(header(head.head, "content-length")).toBe(String(BIG));
    expect(header(head.head, "transfer-encoding")).toBeNull();
    expect(header(head.head, "content-disposition")).toBe(header(got.head, "content-disposition"));
    expect(head.body.length).toBe(0);
    await waitFor("no download child left", () => runChildren().length === 0);
  }, 120_000);

  it("a folder: the tar's exact Content-Length, no chunking", async () => {
    const got = await rawRequest("GET", new URL(downloadUrl(s3Id, join(awkSrc, "docs"))));
    expect(got.head).toMatch(/^HTTP\/1\.1 200/);
    expect(header(got.head, "content-type")).toBe("application/x-tar");
    expect(header(got.head, "transfer-encoding")).toBeNull();
    expect(Number(header(got.head, "content-length"))).toBe(got.body.length);
    expect(got.body.length).toBeGreaterThan(0);
  }, 120_000);

  it("a 1 GiB file held open says its size in the head before any byte of the body", async () => {
    const held = await holdOpen(localId, join(bigSrc, "hole.bin"));
    expect(header(held.head, "content-length")).toBe(String(HOLE));
    expect(header(held.head, "transfer-encoding")).toBeNull();
    held.socket.destroy();
    await waitFor("no download child left", () => runChildren().length === 0);
  }, 60_000);

  it("a pack damaged mid-file: the body stops short of its Content-Length, never claims complete", async () => {
    const repo = join(work.path, "fragile-repo");
    const dest = await admin.api("POST", "/api/destinations", {
      type: "local",
      name: "fragile",
      path: repo,
      password: PASSPHRASE,
    });
    expect(dest.status).toBe(201);
    const fragileId = dest.json<{ id: string }>().id;
    const src = join(work.path, "fragile");
    mkdirSync(src);
    const bytes = randomBytes(12 * 1024 * 1024);
    writeFileSync(join(src, "f.bin"), bytes);
    await backUp(fragileId, "Fragile", src);
    // The largest pack holds the file's data; its middle is data, far from the pack's header.
    const packs = spawnSync("find", [join(repo, "data"), "-type", "f"])
      .stdout.toString()
      .trim()
      .split("\n");
    const largest = packs.sort((a, b) => readFileSync(b).length - readFileSync(a).length)[0] as string;
    const pack = readFileSync(largest);
    const at = Math.floor(pack.length / 2);
    pack[at] = (pack[at] ?? 0) ^ 0xff;
    writeFileSync(largest, pack);
    const got = await rawRequest("GET", new URL(downloadUrl(fragileId, join(src, "f.bin"))));
    expect(got.head).toMatch(/^HTTP\/1\.1 200/);
    expect(header(got.head, "content-length")).toBe(String(bytes.length));
    expect(got.body.length).toBeLessThan(bytes.length);
    // What did arrive is the file's own first bytes, not garbage.
    expect(got.body.equals(bytes.subarray(0, got.body.length))).toBe(true);
    await waitFor("no download child left", () => runChildren().length === 0);
  }, 180_000);
});
