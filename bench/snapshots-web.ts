/**
 * Browse and restore through a real server process (issue 10): `bun bench/snapshots-web.ts
 * [--dir /tmp/backapp-bench-snap] [--files 100000] [--file-mib 1024] [--out FILE]`.
 * Backs up a folder of N small files and one large random file through the server (a job run),
 * then measures over HTTP: the first page of the N-entry directory (fresh server: repository open
 * + tree decode), the same page again (cached) and the next page by cursor; a download of the large
 * file (time to first byte, MB/s, the server's peak RSS sampled every 50 ms); and the latency of a
 * page (GET /configs, probed one after another) idle, during that download and during a restore
 * of the large file. Not a test: prints numbers and writes bench/results/snapshots-web-YYYY-MM-DD.md.
 */
import { randomBytes } from "node:crypto";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Client, ROOT, serveFromSource, summary } from "./lib/web-client.ts";

const { values: args } = parseArgs({
  options: {
    dir: { type: "string", default: "/tmp/backapp-bench-snap" },
    files: { type: "string", default: "100000" },
    "file-mib": { type: "string", default: "1024" },
    out: { type: "string" },
  },
});
const dir = args.dir as string;
const FILES = Number(args.files);
const MIB = Number(args["file-mib"]);
const src = join(dir, "src");

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Math.round(Number(m[1]) / 1024) : 0;
}

function buildSource(): void {
  if (existsSync(join(src, ".done"))) return;
  rmSync(src, { recursive: true, force: true });
  mkdirSync(join(src, "many"), { recursive: true });
  for (let i = 0; i < FILES; i++)
    writeFileSync(join(src, "many", `file-${String(i).padStart(6, "0")}.txt`), `${i}\n`);
  const fd = openSync(join(src, "large.bin"), "w");
  for (let i = 0; i < MIB; i++) writeSync(fd, randomBytes(1024 * 1024));
  closeSync(fd);
  writeFileSync(join(src, ".done"), "");
}

/** Sequential GETs of `path` until `until` settles; latencies in ms. */
async function probe(c: Client, path: string, until: Promise<unknown>): Promise<number[]> {
  let done = false;
  void until.finally(() => {
    done = true;
  });
  const times: number[] = [];
  while (!done) {
    const t = performance.now();
    const res = await c.call("GET", path);
    await res.arrayBuffer();
    times.push(performance.now() - t);
    await Bun.sleep(50);
  }
  return times;
}

async function timed<T>(f: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = performance.now();
  const value = await f();
  return { ms: Math.round(performance.now() - t), value };
}

async function setup(c: Client, setupToken: string) {
  const reg = await c.call("POST", "/api/auth/register", {
    name: "Bench",
    email: "bench@example.com",
    password: "bench long passphrase",
    setupToken,
  });
  c.csrf = ((await reg.json()) as { csrfToken: string }).csrfToken;
  const d = await c.json<{ id: string }>("POST", "/api/destinations", {
    type: "local",
    name: "disk",
    path: join(dir, "repo"),
    password: "bench passphrase",
  });
  const j = await c.json<{ id: string }>("POST", "/api/configs", {
    name: "bench",
    sources: [{ path: src }],
    destinationId: d.id,
    schedule: { cronExpression: "", timezone: "UTC" },
  });
  const { logId } = await c.json<{ logId: string }>("POST", `/api/backups/execute/${j.id}`);
  for (;;) {
    const log = await c.json<{ status: string; snapshotId: string }>("GET", `/api/backups/${logId}`);
    if (log.status === "completed") return { destinationId: d.id, snapshotId: log.snapshotId };
    if (log.status !== "running" && log.status !== "queued") throw new Error(JSON.stringify(log));
    await Bun.sleep(500);
  }
}

async function main() {
  mkdirSync(dir, { recursive: true });
  buildSource();
  const dataDir = join(dir, "data");
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(join(dir, "repo"), { recursive: true, force: true });
  let server = await serveFromSource(dataDir);
  const c = new Client(server.url);
  const backupTime = await timed(() => setup(c, server.setupToken));
  const { destinationId, snapshotId } = backupTime.value;
  console.log(`backup ${backupTime.ms} ms`);
  // A fresh server process: the first listing pays for opening the repository.
  server.proc.kill();
  await server.proc.exited;
  server = await serveFromSource(dataDir);
  const c2 = new Client(server.url);
  c2.cookie = c.cookie;
  c2.csrf = c.csrf;
  const tree = `/api/snapshots/${snapshotId}/tree?destinationId=${destinationId}&path=${encodeURIComponent(`${src}/many`)}`;
  const cold = await timed(() => c2.json<{ items: unknown[]; nextCursor: string }>("GET", tree));
  const warm = await timed(() => c2.json<{ items: unknown[]; nextCursor: string }>("GET", tree));
  const next = await timed(() =>
    c2.json<{ items: unknown[] }>("GET", `${tree}&cursor=${encodeURIComponent(warm.value.nextCursor)}`),
  );
  const htmlPage = await timed(async () =>
    (
      await c2.call(
        "GET",
        `/snapshots/${snapshotId}/dir?destinationId=${destinationId}&path=${encodeURIComponent(`${src}/many`)}`,
      )
    ).text(),
  );

  console.log(`tree cold ${cold.ms} warm ${warm.ms} next ${next.ms} html ${htmlPage.ms}`);
  const idle = await probe(c2, "/configs", Bun.sleep(3000));
  const baseRss = rssMiB(server.proc.pid);
  let peakRss = baseRss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, rssMiB(server.proc.pid));
  }, 50);
  const t0 = performance.now();
  const res = await c2.call(
    "GET",
    `/api/snapshots/${snapshotId}/download?destinationId=${destinationId}&path=${encodeURIComponent(`${src}/large.bin`)}`,
  );
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  let ttfb = 0;
  let bytes = 0;
  const drain = (async () => {
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      if (bytes === 0) ttfb = performance.now() - t0;
      bytes += r.value.length;
    }
  })();
  const duringDownload = await probe(c2, "/configs", drain);
  const downloadMs = performance.now() - t0;
  clearInterval(sampler);

  console.log(
    `download ttfb ${ttfb.toFixed(0)} total ${downloadMs.toFixed(0)} rss ${baseRss}->${peakRss} during ${summary(duringDownload)} idle ${summary(idle)}`,
  );
  const target = join(dir, "restore");
  rmSync(target, { recursive: true, force: true });
  const { restoreId } = await c2.json<{ restoreId: string }>("POST", "/api/restores", {
    destinationId,
    snapshotId,
    paths: [`${src}/large.bin`],
    target,
    existing: "overwrite",
  });
  const restoreStart = performance.now();
  const restoreDone = (async () => {
    for (;;) {
      const r = await c2.json<{ status: string; filesRestored: number; bytesRestored: number }>(
        "GET",
        `/api/restores/${restoreId}`,
      );
      if (r.status !== "queued" && r.status !== "running") return r;
      await Bun.sleep(200);
    }
  })();
  const duringRestore = await probe(c2, "/configs", restoreDone);
  const restored = await restoreDone;
  const restoreMs = performance.now() - restoreStart;
  server.proc.kill();
  rmSync(target, { recursive: true, force: true });

  const mb = bytes / 1024 / 1024;
  const lines = [
    `# Browse and restore through the server — ${new Date().toISOString().slice(0, 10)}`,
    "",
    `\`bun bench/snapshots-web.ts --files ${FILES} --file-mib ${MIB}\` on this machine (2 cores shared with other sessions: treat as upper bounds). Local-folder repository; server and run child from source.`,
    "",
    `- Backup of ${FILES} small files + ${MIB} MiB random file through a job run: ${(backupTime.ms / 1000).toFixed(1)} s`,
    `- List the ${FILES}-entry directory, first page of 200 (fresh server: repository open + tree load/decode): ${cold.ms} ms`,
    `- Same page again (repository and TreeCache kept open): ${warm.ms} ms; next page by cursor: ${next.ms} ms; the htmx HTML page: ${htmlPage.ms} ms`,
    `- Download ${mb.toFixed(0)} MiB file: time to first byte ${ttfb.toFixed(0)} ms, total ${(downloadMs / 1000).toFixed(1)} s (${(mb / (downloadMs / 1000)).toFixed(0)} MiB/s)`,
    `- Server RSS: ${baseRss} MiB before the download, peak ${peakRss} MiB while streaming it`,
    `- GET /configs latency p50 / p95 / max (ms): idle ${summary(idle)} (${idle.length}); during the download ${summary(duringDownload)} (${duringDownload.length}); during the restore ${summary(duringRestore)} (${duringRestore.length})`,
    `- Restore of the large file (${restored.filesRestored} files, ${(restored.bytesRestored / 1024 / 1024).toFixed(0)} MiB) in the run child: ${(restoreMs / 1000).toFixed(1)} s, status ${restored.status}`,
    "",
  ];
  const text = lines.join("\n");
  console.log(text);
  const out =
    (args.out as string | undefined) ??
    join(ROOT, "bench", "results", `snapshots-web-${new Date().toISOString().slice(0, 10)}.md`);
  writeFileSync(out, text);
}

await main();
