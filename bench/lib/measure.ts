/**
 * One measured command: run under GNU `time -v` after preparing the page cache — hot: the given
 * paths are read through (page cache filled) and `sync`ed; cold: `sync` and drop_caches (root).
 * Reports wall seconds, peak RSS, user and system CPU seconds and minor page faults.
 */
import { readFileSync, writeFileSync } from "node:fs";

export type CacheMode = "hot" | "cold";

export interface Measured {
  seconds: number;
  maxRssKiB: number;
  userSeconds: number;
  systemSeconds: number;
  minorFaults: number;
  stdout: string;
}

let droppable: boolean | null = null;

/** True once drop_caches worked (root, writable /proc); false when it cannot. */
export function cachesDroppable(): boolean {
  if (droppable === null) dropCaches();
  return droppable === true;
}

function dropCaches(): void {
  Bun.spawnSync(["sync"]);
  if (droppable === false) return;
  try {
    writeFileSync("/proc/sys/vm/drop_caches", "3\n");
    droppable = true;
  } catch {
    droppable = false;
  }
}

/** Reads every file under `paths` once (tar to /dev/null reads file data), then syncs. */
function fillCache(paths: string[]): void {
  for (const p of paths) {
    Bun.spawnSync(["sh", "-c", 'tar -cf - "$1" 2>/dev/null | cat >/dev/null', "sh", p]);
  }
  Bun.spawnSync(["sync"]);
}

function field(report: string, label: string): number {
  const m = new RegExp(`${label.replace(/[()]/g, "\\$&")}: ([\\d.]+)`).exec(report);
  return m ? Number(m[1]) : Number.NaN;
}

/**
 * Runs `cmd` (environment `env` added) with the cache prepared; `warm` lists what a hot step
 * reads (source tree for a backup, repository for a restore). Throws with stderr on failure.
 */
export function measure(
  cmd: string[],
  env: Record<string, string>,
  cache: CacheMode,
  warm: string[],
  reportFile: string,
): Measured {
  if (cache === "cold") dropCaches();
  else fillCache(warm);
  const started = performance.now();
  const r = Bun.spawnSync(["/usr/bin/time", "-v", "-o", reportFile, ...cmd], {
    env: { ...process.env, ...env } as Record<string, string>,
    stdout: "pipe",
    stderr: "pipe",
  });
  const seconds = (performance.now() - started) / 1000;
  if (r.exitCode !== 0) {
    throw new Error(`${cmd.join(" ")} exited ${r.exitCode}:\n${r.stderr.toString().slice(-3000)}`);
  }
  const report = readFileSync(reportFile, "utf8");
  return {
    seconds,
    maxRssKiB: field(report, "Maximum resident set size (kbytes)"),
    userSeconds: field(report, "User time (seconds)"),
    systemSeconds: field(report, "System time (seconds)"),
    minorFaults: field(report, "Minor (reclaiming a frame) page faults"),
    stdout: r.stdout.toString(),
  };
}

/** Median of the numbers (the mean of the middle two for an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
