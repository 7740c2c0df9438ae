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
