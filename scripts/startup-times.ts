/**
 * Start-up times of the CLI: median wall time of `--version`, `snapshots` on a small local
 * repository, and `serve` until the first /healthz 200, each run N times in a fresh process.
 * Usage: bun scripts/startup-times.ts [--runs N] COMMAND...   e.g.
 *   bun scripts/startup-times.ts dist/backapp-linux-x64
 *   bun scripts/startup-times.ts node_modules/.bin/bun src/main.ts
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const argv = process.argv.slice(2);
const runsAt = argv.indexOf("--runs");
const runs = runsAt === -1 ? 15 : Number(argv.splice(runsAt, 2)[1]);
const command = argv;
if (command.length === 0) throw new Error("usage: startup-times.ts [--runs N] COMMAND...");

const work = mkdtempSync(join(tmpdir(), "backapp-startup-"));
const env = { ...process.env, BACKAPP_PASSWORD: "startup-times", BACKAPP_LOG_LEVEL: "warn" };
const repo = join(work, "repo");

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function timeRun(args: string[]): number {
  const start = performance.now();
  const r = Bun.spawnSync([...command, ...args], { env, stdout: "ignore", stderr: "pipe" });
  const ms = performance.now() - start;
  if (!r.success) throw new Error(`${args.join(" ")} failed: ${r.stderr.toString()}`);
  return ms;
}

async function timeServe(i: number): Promise<number> {
  const port = 20_000 + ((process.pid + i) % 20_000);
  const start = performance.now();
  const proc = Bun.spawn(
    [...command, "serve", "--listen", `127.0.0.1:${port}`, "--data-dir", join(work, `d${i}`)],
    {
      env,
      stdout: "ignore",
      stderr: "inherit",
    },
  );
  for (;;) {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null);
    if (res?.status === 200) break;
    if (performance.now() - start > 20_000) throw new Error("serve did not answer /healthz");
    await Bun.sleep(2);
  }
  const ms = performance.now() - start;
  proc.kill("SIGTERM");
  await proc.exited;
  return ms;
}

try {
  timeRun(["init", "--repo", repo]);
  const results: Record<string, number> = {};
  results["--version"] = median(Array.from({ length: runs }, () => timeRun(["--version"])));
  results.snapshots = median(Array.from({ length: runs }, () => timeRun(["snapshots", "--repo", repo])));
  const serve: number[] = [];
  for (let i = 0; i < runs; i++) serve.push(await timeServe(i));
  results["serve → /healthz 200"] = median(serve);
  console.log(`${command.join(" ")} (median of ${runs}):`);
  for (const [name, ms] of Object.entries(results)) console.log(`  ${name.padEnd(22)} ${ms.toFixed(0)} ms`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
