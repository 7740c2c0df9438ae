/**
 * Prune after forgetting half of the snapshots: `bun bench/prune.ts [--dir DIR] [--snapshots N]
 * [--base-mib N] [--churn-mib N] [--small-files N] [--tree DIR] [--s3] [--out FILE]`. Not a test:
 * prints numbers only. --s3 copies the built repository to s3rver over HTTPS (bench/lib/targets.ts)
 * and runs the measured commands there.
 *
 * Builds a local-folder repository of N daily snapshots of a tree with a stable part (base-mib of
 * mixed data plus small files, deduplicated across snapshots — or, with --tree, the ~1 GiB
 * benchmark tree of bench/lib/tree.ts shared with restic-compare.ts) and a churning part
 * (churn-mib of new data each day, the previous day's removed, and a rewritten log). Then, each as its own process
 * under GNU `time -v` (wall time, peak RSS): `forget --keep-last N/2`, `prune`, `check --read-data`.
 * Results are printed and written to bench/results/prune-YYYY-MM-DD.md.
 */
import { createCipheriv } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { backup } from "../src/engine/backup.ts";
import { initRepository } from "../src/engine/repository/open.ts";
import { createLocalBackend } from "../src/storage/local.ts";
import { formatBytes } from "../src/util/bytes.ts";
import { s3Target, type Target } from "./lib/targets.ts";
import { ensureTree } from "./lib/tree.ts";

const { values } = parseArgs({
  options: {
    dir: { type: "string", default: "/tmp/backapp-bench-prune" },
    snapshots: { type: "string", default: "8" },
    "base-mib": { type: "string", default: "256" },
    "churn-mib": { type: "string", default: "64" },
    "small-files": { type: "string", default: "5000" },
    tree: { type: "string" },
    s3: { type: "boolean" },
    out: { type: "string" },
  },
});
const root = resolve(values.dir!);
const snapshots = Number(values.snapshots);
const baseMiB = Number(values["base-mib"]);
const churnMiB = Number(values["churn-mib"]);
const smallFiles = Number(values["small-files"]);
const MiB = 1024 * 1024;
const repoDir = join(root, "repo");
const src = join(root, "src");
const churnDir = join(root, "churn");
/** --tree DIR: the stable part is bench/lib/tree.ts's tree at DIR (generated when missing). */
const treeDir = values.tree ? resolve(values.tree) : null;
const password = "bench passphrase";
const bun = resolve(import.meta.dirname, "../node_modules/.bin/bun");
const main = resolve(import.meta.dirname, "../src/main.ts");

/** Deterministic bytes: AES-128-CTR keystream seeded by a label. */
function stream(label: string) {
  const key = Buffer.alloc(16);
  key.write(label.slice(0, 16));
  const c = createCipheriv("aes-128-ctr", key, Buffer.alloc(16));
  return (n: number) => c.update(Buffer.alloc(n));
}

function mixed(label: string, size: number): Buffer {
  const rnd = stream(label);
  const text = Buffer.from(
    `${label} lorem ipsum backup prune retention snapshot\n`.repeat(Math.ceil(size / 2 / 50)),
  );
  return Buffer.concat([rnd(Math.floor(size / 2)), text.subarray(0, size - Math.floor(size / 2))]);
}

function makeBase(): void {
  rmSync(src, { recursive: true, force: true });
  mkdirSync(join(src, "big"), { recursive: true });
  for (let i = 0; i * 32 < baseMiB; i++)
    writeFileSync(join(src, "big", `file-${i}.bin`), mixed(`base${i}`, 32 * MiB));
  const rnd = stream("small");
  for (let i = 0; i < smallFiles; i++) {
    const d = join(src, "small", `d${Math.floor(i / 100)}`);
    if (i % 100 === 0) mkdirSync(d, { recursive: true });
    writeFileSync(join(d, `f${i}.txt`), rnd(512 + (i % 16) * 256));
  }
}

function churn(g: number): void {
  rmSync(churnDir, { recursive: true, force: true });
  mkdirSync(churnDir, { recursive: true });
  for (let i = 0; i * 16 < churnMiB; i++) {
    writeFileSync(join(churnDir, `day-${g}-${i}.bin`), mixed(`churn${g}x${i}`, 16 * MiB));
  }
  writeFileSync(join(churnDir, "log.txt"), Buffer.from(`day ${g}\n`.repeat(100_000 + g * 10_000)));
}

interface Measured {
  wallS: number;
  maxRssMiB: number;
  stdout: string;
}

/** Where the measured commands point: the local folder, or its copy on s3rver (--s3). */
let repoEnv: Record<string, string> = { BACKAPP_REPO: repoDir };

/**
 * Runs under GNU time -v, its report written to a file (on the stderr pipe it was cut off, and
 * time exited 1, while the s3rver child process ran); parses the report.
 */
async function run(args: string[]): Promise<Measured> {
  const report = join(root, "time-report.txt");
  const proc = Bun.spawn(["/usr/bin/time", "-o", report, "-v", bun, main, ...args], {
    env: { ...process.env, ...repoEnv, BACKAPP_PASSWORD: password },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (code !== 0) throw new Error(`${args.join(" ")} exited ${code}: ${stdout}${err}`);
  const timed = readFileSync(report, "utf8");
  const wall = /Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):(\d+(?:\.\d+)?)/.exec(timed);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(timed);
  const wallS = wall ? Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]) : Number.NaN;
  return { wallS, maxRssMiB: rss ? Number(rss[1]) / 1024 : Number.NaN, stdout };
}

async function build(): Promise<void> {
  rmSync(repoDir, { recursive: true, force: true });
  const stable = treeDir ? ensureTree(treeDir).path : src;
  if (!treeDir) makeBase();
  const repo = await initRepository(createLocalBackend(repoDir), password, { lock: "none" });
  try {
    for (let g = 0; g < snapshots; g++) {
      churn(g);
      const t = Date.UTC(2026, 0, 1 + g, 3);
      const r = await backup(repo, [stable, churnDir], { now: () => t, hostname: "bench" });
      if (r.summary.errors.length > 0) throw new Error(`backup errors: ${JSON.stringify(r.summary.errors)}`);
      console.log(
        `snapshot ${g + 1}/${snapshots}: ${r.snapshot.id.slice(0, 8)}, added ${(r.summary.bytes_added / MiB).toFixed(0)} MiB`,
      );
    }
  } finally {
    await repo.close();
  }
}

async function stats(): Promise<Record<string, number>> {
  return JSON.parse((await run(["stats", "--json"])).stdout) as Record<string, number>;
}

const mib = (n: number) => `${(n / MiB).toFixed(1)} MiB`;

/** Copies the local repository to s3rver and points the measured commands at the copy. */
function useS3(target: Target): void {
  repoEnv = target.backappEnv("prune");
  const copy = Bun.spawnSync(
    [bun, resolve(import.meta.dirname, "lib/copy-repo.ts"), repoDir, repoEnv.BACKAPP_REPO!],
    {
      env: { ...process.env, ...repoEnv },
    },
  );
  if (copy.exitCode !== 0) throw new Error(`copy to s3rver failed: ${copy.stderr.toString()}`);
}

mkdirSync(root, { recursive: true });
await build();
const s3 = values.s3 ? await s3Target(root) : null;
// Also on a failure: the s3rver process would otherwise outlive the benchmark.
process.on("exit", () => s3?.stop());
if (s3) useS3(s3);
const before = await stats();
const forget = await run(["forget", "--keep-last", String(Math.ceil(snapshots / 2)), "--json"]);
const prune = await run(["prune", "--json"]);
const report = JSON.parse(prune.stdout) as { packs: Record<string, number>; bytes: Record<string, number> };
const tight = await run(["prune", "--max-unused", "0", "--json"]);
const tightReport = JSON.parse(tight.stdout) as typeof report;
const check = await run(["check", "--read-data"]);
const after = await stats();
const rows = [
  [
    "repository before",
    `${before.snapshots} snapshots, ${mib(before.stored_size!)} in ${before.packs} packs, ${before.blobs} blobs`,
  ],
  ["forget (keep half)", `${forget.wallS.toFixed(2)} s, peak RSS ${forget.maxRssMiB.toFixed(0)} MiB`],
  [
    "prune",
    `${prune.wallS.toFixed(2)} s, peak RSS ${prune.maxRssMiB.toFixed(0)} MiB; packs removed ${report.packs.removed}, repacked ${report.packs.repacked}, written ${report.packs.written}; freed ${mib(report.bytes.freed!)}; unused left in kept packs ${formatBytes(report.bytes.unused_left!)}`,
  ],
  [
    "then prune --max-unused 0",
    `${tight.wallS.toFixed(2)} s, peak RSS ${tight.maxRssMiB.toFixed(0)} MiB; packs repacked ${tightReport.packs.repacked}, written ${tightReport.packs.written}; freed ${formatBytes(tightReport.bytes.freed!)}`,
  ],
  ["check --read-data after", `${check.wallS.toFixed(2)} s, peak RSS ${check.maxRssMiB.toFixed(0)} MiB`],
  [
    "repository after",
    `${after.snapshots} snapshots, ${mib(after.stored_size!)} in ${after.packs} packs, ${after.blobs} blobs`,
  ],
];
const table = ["| step | result |", "|---|---|", ...rows.map(([a, b]) => `| ${a} | ${b} |`)].join("\n");
const stableText = treeDir
  ? "the ~1 GiB benchmark tree (bench/lib/tree.ts)"
  : `${baseMiB} MiB + ${smallFiles} small files`;
s3?.stop();
const where = s3 ? "s3rver over https (one local process)" : "local folder";
const params = `${snapshots} snapshots; stable: ${stableText}; ${churnMiB} MiB new per snapshot; ${where}; bun src/main.ts; forget --keep-last ${Math.ceil(snapshots / 2)}, then prune (default --max-unused 5)`;
console.log(`\n${params}\n\n${table}`);
const day = new Date().toISOString().slice(0, 10);
const outName = values.out ?? `prune-${day}${treeDir ? "-tree" : ""}${s3 ? "-s3" : ""}.md`;
const outFile = resolve(import.meta.dirname, "results", outName);
mkdirSync(resolve(import.meta.dirname, "results"), { recursive: true });
writeFileSync(outFile, `# prune benchmark ${day}\n\n${params}\n\n${table}\n`);
console.log(`\nwritten to ${outFile}`);
