/**
 * Dashboard and history latency with a big history: a real server process, 20 jobs and 100,000
 * runs over 90 days written into its database, then p50/p95/max of GET /dashboard (30 and 90
 * days), GET /api/metrics and GET /api/backups/logs idle, while a real backup of the ~1 GiB bench
 * tree runs, and after. Writes bench/results/dashboard-latency-YYYY-MM-DD.md.
 *
 * Usage: node_modules/.bin/bun bench/dashboard-latency.ts [--dir /tmp/backapp-bench] [--runs 100000] [--requests 100]
 */
import { Database } from "bun:sqlite";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ensureTree } from "./lib/tree.ts";
import { Client, ROOT, serveFromSource, summary, timedGets } from "./lib/web-client.ts";

const { values: args } = parseArgs({
  options: {
    dir: { type: "string", default: "/tmp/backapp-bench" },
    runs: { type: "string", default: "100000" },
    requests: { type: "string", default: "100" },
    out: { type: "string" },
  },
});
const RUNS = Number(args.runs);
const REQUESTS = Number(args.requests);
const CONCURRENCY = 4;
const JOBS = 20;
const PATHS = ["/dashboard", "/dashboard?period=90d", "/api/metrics?period=30d", "/api/backups/logs"];

/** RUNS finished runs spread over the last 90 days across the jobs, about one in 12 failed. */
function seedRuns(dbPath: string, userId: string, jobIds: string[]) {
  const db = new Database(dbPath);
  db.run("PRAGMA busy_timeout = 10000");
  const insert = db.prepare(
    "INSERT INTO backup_logs (id, config_id, user_id, status, trigger, start_time, end_time, duration_ms, bytes_transferred, total_bytes, files_processed) VALUES (?, ?, ?, ?, 'schedule', ?, ?, ?, ?, ?, ?)",
  );
  const now = Date.now();
  const span = 90 * 86_400_000;
  db.transaction(() => {
    for (let i = 0; i < RUNS; i++) {
      const start = now - span + Math.floor((i / RUNS) * span);
      const failed = i % 12 === 5;
      const duration = 20_000 + ((i * 7919) % 600) * 100;
      const bytes = failed ? 0 : ((i * 104_729) % 5000) * 10_000;
      const job = jobIds[i % jobIds.length] as string;
      insert.run(
        `seed${i}`,
        job,
        userId,
        failed ? "failed" : "completed",
        start,
        start + duration,
        duration,
        bytes,
        bytes * 30,
        1000 + (i % 700),
      );
    }
  })();
  db.close();
}

async function measure(c: Client, times: Record<string, number[]>) {
  for (const path of PATHS) {
    times[path] ??= [];
    await timedGets(c, path, REQUESTS, CONCURRENCY, times[path]);
  }
}

async function main() {
  const work = join(args.dir, "dashboard-latency");
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const tree = ensureTree(join(args.dir, "tree"));
  const dataDir = join(work, "data");
  const { proc, url, setupToken } = await serveFromSource(dataDir);
  const c = new Client(url);
  const reg = await c.json<{ csrfToken: string; user: { id: string } }>("POST", "/api/auth/register", {
    email: "bench@example.com",
    name: "Bench",
    password: "a long benchmark passphrase",
    setupToken,
  });
  c.csrf = reg.csrfToken;
  const dest = await c.json<{ id: string }>("POST", "/api/destinations", {
    type: "local",
    name: "bench",
    path: join(work, "repo"),
    password: "bench repository passphrase",
  });
  const jobIds: string[] = [];
  for (let i = 0; i < JOBS; i++) {
    const job = await c.json<{ id: string }>("POST", "/api/configs", {
      name: `job ${String(i).padStart(2, "0")}`,
      sources: [{ path: tree.path }],
      destinationId: dest.id,
      schedule: { cronExpression: `${i} 2 * * *`, timezone: "UTC" },
    });
    jobIds.push(job.id);
  }
  const seeded = performance.now();
  seedRuns(join(dataDir, "backapp.db"), reg.user.id, jobIds);
  const seedSeconds = (performance.now() - seeded) / 1000;

  const phases: [string, Record<string, number[]>][] = [];
  await measure(c, {}); // warm-up
  const idle: Record<string, number[]> = {};
  await measure(c, idle);
  phases.push(["idle", idle]);

  const started = performance.now();
  const { logId } = await c.json<{ logId: string }>("POST", `/api/backups/execute/${jobIds[0]}`);
  const during: Record<string, number[]> = {};
  let status = "queued";
  let rounds = 0;
  while (status === "queued" || status === "running") {
    await measure(c, during);
    rounds++;
    status = (await c.json<{ status: string }>("GET", `/api/backups/${logId}`)).status;
  }
  const runSeconds = (performance.now() - started) / 1000;
  phases.push([`backup running (${rounds} rounds)`, during]);
  const after: Record<string, number[]> = {};
  await measure(c, after);
  phases.push(["after the run", after]);
  proc.kill("SIGTERM");
  await proc.exited;

  const report = [
    `# Dashboard and history latency with ${RUNS.toLocaleString("en")} runs (${new Date().toISOString().slice(0, 10)})`,
    "",
    `${JOBS} jobs, ${RUNS.toLocaleString("en")} finished runs over 90 days written into the database (${seedSeconds.toFixed(1)} s),`,
    `then ${REQUESTS} GETs per path and phase, ${CONCURRENCY} at a time, signed in; server from source.`,
    `The backup: ${tree.files} files, ${(tree.bytes / 2 ** 20).toFixed(0)} MiB to a local folder, ${status} in ${runSeconds.toFixed(1)} s.`,
    `Machine: 2 cores shared with other engineers' work (1-minute load average ${loadavg()[0]?.toFixed(1)} at the end), so`,
    "absolute numbers are noisy; compare the rows.",
    "",
    `| phase | ${PATHS.map((p) => `${p} p50 / p95 / max (ms)`).join(" | ")} |`,
    `|---|${PATHS.map(() => "---").join("|")}|`,
    ...phases.map(([name, t]) => `| ${name} | ${PATHS.map((p) => summary(t[p] ?? [])).join(" | ")} |`),
    "",
  ].join("\n");
  const out =
    args.out ??
    join(ROOT, "bench", "results", `dashboard-latency-${new Date().toISOString().slice(0, 10)}.md`);
  writeFileSync(out, report);
  console.log(report);
}

await main();
