/**
 * Memory and page latency while a large file is downloaded through the real server. Writes a
 * large file (random bytes by default, or a sparse one with --sparse), backs it up through a real
 * server process (`bun src/main.ts serve`) into a local-folder repository, then downloads it with
 * GET /api/snapshots/latest/download: first a slow client (reading at ~40 MiB/s, so back-pressure
 * must hold the child), then full speed. Samples the server's and the download child's RSS every
 * 200 ms, times page requests (GET /configs) before and during the download, hashes what arrives
 * and compares it with the source. Writes bench/results/download-memory-YYYY-MM-DD.md.
 *
 * Usage: node_modules/.bin/bun bench/download-memory.ts [--dir /tmp/backapp-bench] [--gib 2] [--sparse] [--out FILE]
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { childPids, rssKiB } from "./lib/proc.ts";
import { Client, ROOT, serveFromSource, summary, timedGets } from "./lib/web-client.ts";

const { values: args } = parseArgs({
  options: {
    dir: { type: "string", default: "/tmp/backapp-bench" },
    gib: { type: "string", default: "2" },
    sparse: { type: "boolean", default: false },
    out: { type: "string" },
  },
});
const SIZE = Math.round(Number(args.gib) * 2 ** 30);
const SLOW_BYTES = Math.min(SIZE / 4, 512 * 2 ** 20);
const SLOW_RATE = 40 * 2 ** 20;

const mib = (kib: number) => `${(kib / 1024).toFixed(0)} MiB`;

/** The source file and its SHA-256. */
async function makeSource(dir: string): Promise<{ path: string; sha: string }> {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, args.sparse ? "sparse.bin" : "random.bin");
  rmSync(path, { force: true });
  const made = args.sparse
    ? spawnSync("truncate", ["-s", String(SIZE), path])
    : spawnSync("sh", ["-c", `head -c ${SIZE} /dev/urandom > '${path}'`]);
  if (made.status !== 0) throw new Error(`making the source failed: ${made.stderr}`);
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 2 ** 20 })) hash.update(chunk);
  return { path, sha: hash.digest("hex") };
}

/** A signed-in client with a local destination and a job over `src`, its one backup done. */
async function backUp(url: string, setupToken: string, work: string, src: string) {
  const s = new Client(url);
  const reg = await s.call("POST", "/api/auth/register", {
    email: "bench@example.com",
    name: "Bench",
    password: "a long benchmark passphrase",
    setupToken,
  });
  s.csrf = ((await reg.json()) as { csrfToken: string }).csrfToken;
  const dest = await s.json<{ id: string }>("POST", "/api/destinations", {
    type: "local",
    name: "bench",
    path: join(work, "repo"),
    password: "bench repository passphrase",
  });
  const job = await s.json<{ id: string }>("POST", "/api/configs", {
    name: "large file",
    sources: [{ path: src }],
    destinationId: dest.id,
    schedule: { cronExpression: "", timezone: "UTC" },
  });
  const started = performance.now();
  const { logId } = await s.json<{ logId: string }>("POST", `/api/backups/execute/${job.id}`);
  let status = "queued";
  while (status === "queued" || status === "running") {
    await Bun.sleep(500);
    status = (await s.json<{ status: string }>("GET", `/api/backups/${logId}`)).status;
  }
  if (status !== "completed") throw new Error(`backup ${status}`);
  return { s, destinationId: dest.id, backupSeconds: (performance.now() - started) / 1000 };
}

interface Sample {
  server: number;
  child: number;
}

/** Reads the download (slowly for the first SLOW_BYTES), hashing it; peaks per phase. */
async function download(s: Client, serverPid: number, destinationId: string, path: string) {
  const peaks = { slow: { server: 0, child: 0 }, fast: { server: 0, child: 0 } };
  let phase: keyof typeof peaks = "slow";
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const p: Sample = peaks[phase];
      p.server = Math.max(p.server, rssKiB(serverPid));
      for (const c of childPids(serverPid)) p.child = Math.max(p.child, rssKiB(c));
      await Bun.sleep(200);
    }
  })();
  const t0 = performance.now();
  const res = await s.call(
    "GET",
    `/api/snapshots/latest/download?${new URLSearchParams({ destinationId, path })}`,
  );
  if (res.status !== 200) throw new Error(`download: ${res.status} ${await res.text()}`);
  const hash = createHash("sha256");
  const reader = res.body!.getReader();
  let received = 0;
  let firstByteMs = 0;
  const slowStart = performance.now();
  let fastStart = 0;
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    if (received === 0) firstByteMs = performance.now() - t0;
    received += r.value.length;
    hash.update(r.value);
    if (phase === "slow") {
      const ahead = received / SLOW_RATE - (performance.now() - slowStart) / 1000;
      if (ahead > 0) await Bun.sleep(ahead * 1000);
      if (received >= SLOW_BYTES) {
        phase = "fast";
        fastStart = performance.now();
      }
    }
  }
  const fastSeconds = (performance.now() - fastStart) / 1000;
  sampling = false;
  await sampler;
  return {
    received,
    sha: hash.digest("hex"),
    firstByteMs,
    fastMiBs: (received - SLOW_BYTES) / 2 ** 20 / fastSeconds,
    seconds: (performance.now() - t0) / 1000,
    contentLength: res.headers.get("content-length"),
    peaks,
  };
}

/** Time to the first body byte of a download that is then abandoned. */
async function firstByteMs(s: Client, destinationId: string, path: string): Promise<number> {
  const t0 = performance.now();
  const res = await s.call(
    "GET",
    `/api/snapshots/latest/download?${new URLSearchParams({ destinationId, path })}`,
  );
  const reader = res.body!.getReader();
  await reader.read();
  const ms = performance.now() - t0;
  await reader.cancel();
  return ms;
}

async function main() {
  const work = join(args.dir, "download-memory");
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const source = await makeSource(join(work, "src"));
  console.log(`source: ${source.path}, ${(SIZE / 2 ** 30).toFixed(2)} GiB`);
  const { proc, url, setupToken } = await serveFromSource(join(work, "data"));
  try {
    const { s, destinationId, backupSeconds } = await backUp(url, setupToken, work, join(work, "src"));
    console.log(`backed up in ${backupSeconds.toFixed(1)} s`);
    await timedGets(s, "/configs", 20, 2, []); // warm-up
    const idleRss = rssKiB(proc.pid);
    const idle = await timedGets(s, "/configs", 200, 2, []);
    const during: number[] = [];
    let downloading = true;
    const pages = (async () => {
      while (downloading) await timedGets(s, "/configs", 10, 1, during);
    })();
    // First byte of a download with nothing open in the server (the child derives the key), then
    // after a folder listing (the browse cache holds the keys, which the child then gets).
    const coldMs = await firstByteMs(s, destinationId, source.path);
    const list = await s.call(
      "GET",
      `/api/snapshots/latest/tree?${new URLSearchParams({ destinationId, path: join(work, "src") })}`,
    );
    if (list.status !== 200) throw new Error(`tree: ${list.status}`);
    await list.arrayBuffer();
    const d = await download(s, proc.pid, destinationId, source.path);
    downloading = false;
    await pages;
    const report = [
      `# Memory and page latency during a large download (${new Date().toISOString().slice(0, 10)})`,
      "",
      `File: ${(SIZE / 2 ** 30).toFixed(2)} GiB of ${args.sparse ? "zeros (sparse)" : "random bytes"}, local-folder repository, server from source.`,
      `Backup ${backupSeconds.toFixed(1)} s. Download: ${d.received} bytes in ${d.seconds.toFixed(1)} s, SHA-256 ${d.sha === source.sha ? "matches" : "DIFFERS FROM"} the source.`,
      `First byte: ${coldMs.toFixed(0)} ms with no repository open in the server (the child derives the key); ${d.firstByteMs.toFixed(0)} ms after a folder listing (the child gets the keys).`,
      `Slow phase: first ${(SLOW_BYTES / 2 ** 20).toFixed(0)} MiB read at ~${SLOW_RATE / 2 ** 20} MiB/s; then full speed at ${d.fastMiBs.toFixed(0)} MiB/s.`,
      `Content-Length received: ${d.contentLength ?? "none (chunked: Bun.serve drops it on streamed bodies, oven-sh/bun#10507)"}.`,
      "",
      "| RSS | server | download child |",
      "|---|---|---|",
      `| idle, before | ${mib(idleRss)} | — |`,
      `| slow client (peak) | ${mib(d.peaks.slow.server)} | ${mib(d.peaks.slow.child)} |`,
      `| full speed (peak) | ${mib(d.peaks.fast.server)} | ${mib(d.peaks.fast.child)} |`,
      "",
      "| GET /configs | p50 / p95 / max (ms) | requests |",
      "|---|---|---|",
      `| idle (2 at a time) | ${summary(idle)} | ${idle.length} |`,
      `| during the download (1 at a time) | ${summary(during)} | ${during.length} |`,
      "",
    ].join("\n");
    const out =
      args.out ??
      join(ROOT, "bench", "results", `download-memory-${new Date().toISOString().slice(0, 10)}.md`);
    writeFileSync(out, report);
    console.log(report);
    if (d.sha !== source.sha) process.exitCode = 1;
  } finally {
    proc.kill("SIGTERM");
    await proc.exited;
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
