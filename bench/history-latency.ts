/**
 * Run history with 100,000 runs: a real server process, 10 jobs, 100,000 finished runs written into
 * its database, then p50/p95/max of the /backups page and GET /api/backups/logs with each filter
 * (job, status, date range, a deep cursor), idle and with 5 live SSE streams open on a running
 * backup (uploads throttled so it lasts). Writes bench/results/history-latency-YYYY-MM-DD.md.
 *
 * Usage: node_modules/.bin/bun bench/history-latency.ts [--dir /tmp/backapp-bench] [--requests 60]
 */
import { Database } from "bun:sqlite";
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Client, ROOT, serveFromSource, summary, timedGets } from "./lib/web-client.ts";

const { values: args } = parseArgs({
  options: {
    dir: { type: "string", default: "/tmp/backapp-bench" },
    requests: { type: "string", default: "60" },
  },
});
const RUNS = 100_000;
const REQUESTS = Number(args.requests);
const DAY = 86_400_000;

function seed(dbPath: string, userId: string, jobs: string[]): string {
  const db = new Database(dbPath);
  db.run("PRAGMA busy_timeout = 10000");
  const insert = db.prepare(
    "INSERT INTO backup_logs (id, config_id, user_id, status, trigger, start_time, end_time, duration_ms) VALUES (?, ?, ?, ?, 'schedule', ?, ?, 1000)",
  );
  const now = Date.now();
  db.transaction(() => {
    for (let i = 0; i < RUNS; i++) {
      const start = now - 90 * DAY + Math.floor((i / RUNS) * 90 * DAY);
      insert.run(
        `seed${i}`,
        jobs[i % jobs.length] as string,
        userId,
        i % 12 === 5 ? "failed" : "completed",
        start,
        start + 1000,
      );
    }
  })();
  db.close();
  return new Date(now - 60 * DAY).toISOString().slice(0, 10);
}

async function main() {
  const work = join(args.dir, "history-latency");
  rmSync(work, { recursive: true, force: true });
  const src = join(work, "src");
  mkdirSync(src, { recursive: true });
  for (let i = 0; i < 64; i++) writeFileSync(join(src, `f${i}.bin`), randomBytes(1 << 20));
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
  const jobs: string[] = [];
  for (let i = 0; i < 10; i++) {
    const job = await c.json<{ id: string }>("POST", "/api/configs", {
      name: `job ${i}`,
      sources: [{ path: src }],
      destinationId: dest.id,
      schedule: { cronExpression: "", timezone: "UTC" },
      options: { bandwidth: 2000 },
    });
    jobs.push(job.id);
  }
  const from = seed(join(dataDir, "backapp.db"), reg.user.id, jobs);
  // A cursor in the middle of the history: a deep page costs what the first one does (keyset).
  const deep = Buffer.from(`${Date.now() - 45 * DAY}:zzzz`).toString("base64url");
  const paths = [
    "/backups",
    `/backups?status=failed&from=${from}`,
    "/api/backups/logs",
    "/api/backups/logs?status=failed",
    `/api/backups/logs?configId=${jobs[3]}&status=failed`,
    `/api/backups/logs?cursor=${encodeURIComponent(deep)}`,
  ];
  const measure = async () => {
    const t: Record<string, number[]> = {};
    for (const p of paths) {
      t[p] = [];
      await timedGets(c, p, REQUESTS, 4, t[p]);
    }
    return t;
  };
  await measure();
  const idle = await measure();
  const { logId } = await c.json<{ logId: string }>("POST", `/api/backups/execute/${jobs[0]}`);
  const streams = Array.from({ length: 5 }, () => new AbortController());
  let events = 0;
  for (const s of streams) {
    const headers = { cookie: c.cookie };
    void fetch(`${url}/api/backups/${logId}/events`, { headers, signal: s.signal }).then(async (res) => {
      const reader = res.body?.getReader();
      try {
        for (let r = await reader?.read(); r && !r.done; r = await reader?.read()) events++;
      } catch {
        // aborted at the end
      }
    });
  }
  const during = await measure();
  const status = (await c.json<{ status: string }>("GET", `/api/backups/${logId}`)).status;
  for (const s of streams) s.abort();
  proc.kill("SIGTERM");
  await proc.exited;
  const report = [
    `# History latency with ${RUNS.toLocaleString("en")} runs (${new Date().toISOString().slice(0, 10)})`,
    "",
    `10 jobs, ${RUNS.toLocaleString("en")} finished runs over 90 days; ${REQUESTS} GETs per path and phase, 4 at a time,`,
    `signed in, server from source. "backup running": a 64 MiB backup throttled to 2 MB/s with 5 SSE streams`,
    `open on it (${events} chunks received; the run was ${status} when measuring ended). 2 shared cores, loaded by`,
    "other engineers' work: compare rows, not absolute numbers.",
    "",
    "| path | idle p50 / p95 / max (ms) | backup running + 5 SSE streams |",
    "|---|---|---|",
    ...paths.map(
      (p) =>
        `| \`${p.replace(/=[a-z0-9%]{20,}/g, "=…")}\` | ${summary(idle[p] ?? [])} | ${summary(during[p] ?? [])} |`,
    ),
    "",
  ].join("\n");
  const out = join(ROOT, "bench/results", `history-latency-${new Date().toISOString().slice(0, 10)}.md`);
  writeFileSync(out, report);
  console.log(report);
  rmSync(work, { recursive: true, force: true });
}

await main();
