/**
 * Does a running backup stall the web UI? Starts a real server process (`bun src/main.ts serve`),
 * signs in, adds a local destination and a job over the ~1 GiB benchmark tree (bench/lib/tree.ts),
 * then measures the p50/p95 latency of GET /configs and GET /api/backups/logs with no backup
 * running and while one runs, and the server's RSS (and the run's child process RSS) before,
 * during and after the run. Writes bench/results/jobs-latency-YYYY-MM-DD.md.
 *
 * Usage: node_modules/.bin/bun bench/jobs-latency.ts [--dir /tmp/backapp-bench] [--small] [--requests N] [--out FILE]
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { childPids, rssKiB } from "./lib/proc.ts";
import { DEFAULT_SPEC, ensureTree } from "./lib/tree.ts";
import { Client, serveFromSource } from "./lib/web-client.ts";

const { values: args } = parseArgs({
  options: {
    dir: { type: "string", default: "/tmp/backapp-bench" },
    small: { type: "boolean", default: false },
    requests: { type: "string", default: "200" },
    out: { type: "string" },
  },
});
const root = join(import.meta.dirname, "..");
const REQUESTS = Number(args.requests);
const CONCURRENCY = 4;

const SMALL = {
  ...DEFAULT_SPEC,
  smallFiles: 2000,
  mediumFiles: 20,
  largeMixedMiB: [8, 8],
  largeRandomMiB: [8, 8],
};

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** REQUESTS GETs of `path`, CONCURRENCY at a time; the times in ms (pushed onto `times`). */
async function timed(s: Client, path: string, times: number[] = []): Promise<number[]> {
  let next = 0;
  const worker = async () => {
    while (next < REQUESTS) {
      next++;
      const t = performance.now();
      const res = await s.call("GET", path);
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
      times.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return times;
}

/** [p50, p95, max] in ms. */
function stats(times: number[]): [number, number, number] {
  const sorted = [...times].sort((a, b) => a - b);
  return [percentile(sorted, 50), percentile(sorted, 95), sorted.at(-1) ?? 0];
}

async function latency(s: Client, path: string): Promise<[number, number, number]> {
  return stats(await timed(s, path));
}

async function main() {
  const work = join(args.dir, "jobs-latency");
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const tree = ensureTree(
    join(args.dir, args.small ? "tree-small" : "tree"),
    args.small ? SMALL : DEFAULT_SPEC,
  );
  console.log(`tree: ${tree.files} files, ${(tree.bytes / 2 ** 20).toFixed(0)} MiB`);
  const { proc, url, setupToken } = await serveFromSource(join(work, "data"));
  const s = new Client(url);
  const reg = await s.call("POST", "/api/auth/register", {
    email: "bench@example.com",
    name: "Bench",
    password: "a long benchmark passphrase",
    setupToken,
  });
  s.csrf = ((await reg.json()) as { csrfToken: string }).csrfToken;
  const dest = await s.call("POST", "/api/destinations", {
    type: "local",
    name: "bench",
    path: join(work, "repo"),
    password: "bench repository passphrase",
  });
  const destinationId = ((await dest.json()) as { id: string }).id;
  const job = await s.call("POST", "/api/configs", {
    name: "tree",
    sources: [{ path: tree.path }],
    destinationId,
    schedule: { cronExpression: "", timezone: "UTC" },
  });
  const jobId = ((await job.json()) as { id: string }).id;
  // A few past runs so the logs list is not empty.
  const rows: string[] = [];
  const idleRss = rssKiB(proc.pid);
  await latency(s, "/configs"); // warm-up
  const idle = { configs: await latency(s, "/configs"), logs: await latency(s, "/api/backups/logs") };
  rows.push(`| idle | ${fmt(idle.configs)} | ${fmt(idle.logs)} |`);

  const started = performance.now();
  const run = await s.call("POST", `/api/backups/execute/${jobId}`);
  const { logId } = (await run.json()) as { logId: string };
  let peakServer = 0;
  let peakChild = 0;
  let running = true;
  const sampler = (async () => {
    while (running) {
      peakServer = Math.max(peakServer, rssKiB(proc.pid));
      for (const c of childPids(proc.pid)) peakChild = Math.max(peakChild, rssKiB(c));
      await Bun.sleep(200);
    }
  })();
  // Every request while the run is queued or running counts (the last round may overlap its end).
  const during = { configs: [] as number[], logs: [] as number[] };
  let status = "queued";
  let rounds = 0;
  while (status === "queued" || status === "running") {
    await timed(s, "/configs", during.configs);
    await timed(s, "/api/backups/logs", during.logs);
    rounds++;
    status = ((await (await s.call("GET", `/api/backups/${logId}`)).json()) as { status: string }).status;
  }
  const runSeconds = (performance.now() - started) / 1000;
  running = false;
  await sampler;
  rows.push(
    `| backup running (${rounds} rounds) | ${fmt(stats(during.configs))} | ${fmt(stats(during.logs))} |`,
  );
  await Bun.sleep(3000);
  Bun.gc(true);
  const afterRss = rssKiB(proc.pid);
  const after = { configs: await latency(s, "/configs"), logs: await latency(s, "/api/backups/logs") };
  rows.push(`| after the run | ${fmt(after.configs)} | ${fmt(after.logs)} |`);
  proc.kill("SIGTERM");
  await proc.exited;

  const report = [
    `# Web latency and server memory around a backup run (${new Date().toISOString().slice(0, 10)})`,
    "",
    `Tree: ${tree.files} files, ${(tree.bytes / 2 ** 20).toFixed(0)} MiB (${args.small ? "--small" : "bench/lib/tree.ts default"}), local-folder repository.`,
    `Run ${logId}: ${status} in ${runSeconds.toFixed(1)} s. ${REQUESTS} GETs per measurement, ${CONCURRENCY} at a time,`,
    "signed-in session; server from source (`bun src/main.ts serve`). Machine: 2 cores shared with other work,",
    "so absolute numbers are noisy; compare the rows.",
    "",
    "| phase | /configs p50 / p95 / max (ms) | /api/backups/logs p50 / p95 / max (ms) |",
    "|---|---|---|",
    ...rows,
    "",
    "| RSS | server | run child (peak) |",
    "|---|---|---|",
    `| before the run | ${mib(idleRss)} | — |`,
    `| during (peak) | ${mib(peakServer)} | ${mib(peakChild)} |`,
    `| after (3 s, GC) | ${mib(afterRss)} | — |`,
    "",
  ].join("\n");
  const out =
    args.out ?? join(root, "bench", "results", `jobs-latency-${new Date().toISOString().slice(0, 10)}.md`);
  writeFileSync(out, report);
  console.log(report);
}

const fmt = (t: [number, number, number]) => t.map((x) => x.toFixed(1)).join(" / ");
const mib = (kib: number) => `${(kib / 1024).toFixed(0)} MiB`;

await main();
