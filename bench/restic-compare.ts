/**
 * backapp beside restic on the same ~1 GiB mixed tree and the same kind of target (a local
 * folder): initial backup MB/s, unchanged re-backup seconds, restore MB/s, repository size and peak
 * RSS. Writes bench/results/restic-compare-<date>.md and prints the table.
 *
 *   node_modules/.bin/bun bench/restic-compare.ts [--dir /tmp/backapp-bench] [--small] [--s3] [--out FILE]
 *
 * --s3 adds a second target: s3rver over HTTPS in its own process (bench/lib/s3rver-https.ts).
 *
 * backapp runs as dist/backapp-linux-x64 when that binary knows the engine commands (build it
 * with `bun build.ts --target linux-x64`), else as `bun src/main.ts`. restic comes from Debian
 * (`apt-get install -y restic`); the script installs it when missing and apt-get is usable.
 * Peak RSS is GNU time's "Maximum resident set size" of the whole process (workers included).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { localTarget, s3Target, type Target } from "./lib/targets.ts";
import { DEFAULT_SPEC, ensureTree, type TreeSpec } from "./lib/tree.ts";

const root = join(import.meta.dir, "..");
const argv = process.argv.slice(2);
const flag = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const workDir = flag("--dir") ?? "/tmp/backapp-bench";
const SMALL: TreeSpec = { smallFiles: 2000, mediumFiles: 16, largeMixedMiB: [16], largeRandomMiB: [16] };
const spec = argv.includes("--small") ? SMALL : DEFAULT_SPEC;
const PASSWORD = "bench-passphrase-not-secret";

interface Run {
  seconds: number;
  maxRssKiB: number;
  stdout: string;
}

/** Runs a command under GNU time (report to a file); throws with its stderr when it fails. */
function timed(cmd: string[], env: Record<string, string> = {}): Run {
  dropCaches();
  const report = join(workDir, "time-report.txt");
  const started = performance.now();
  const r = Bun.spawnSync(["/usr/bin/time", "-v", "-o", report, ...cmd], {
    env: { ...process.env, ...env } as Record<string, string>,
    stdout: "pipe",
    stderr: "pipe",
  });
  const seconds = (performance.now() - started) / 1000;
  if (r.exitCode !== 0) {
    throw new Error(`${cmd.join(" ")} exited ${r.exitCode}:\n${r.stderr.toString().slice(-3000)}`);
  }
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(readFileSync(report, "utf8"));
  return { seconds, maxRssKiB: rss ? Number(rss[1]) : Number.NaN, stdout: r.stdout.toString() };
}

let cachesDropped: boolean | null = null;
/** Cold page cache for every measured step when the kernel lets us (root, not read-only /proc). */
function dropCaches(): void {
  if (cachesDropped === false) return;
  Bun.spawnSync(["sync"]);
  try {
    writeFileSync("/proc/sys/vm/drop_caches", "3\n");
    cachesDropped = true;
  } catch {
    cachesDropped = false;
  }
}

function treeStats(path: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        files++;
        bytes += Bun.file(p).size;
      }
    }
  };
  walk(path);
  return { files, bytes };
}

function backappCommand(): string[] {
  const binary = join(root, "dist", "backapp-linux-x64");
  if (existsSync(binary) && Bun.spawnSync([binary, "backup", "--help"]).exitCode === 0) return [binary];
  return [join(root, "node_modules", ".bin", "bun"), join(root, "src", "main.ts")];
}

function ensureRestic(): string {
  const which = () => Bun.spawnSync(["sh", "-c", "command -v restic"]).stdout.toString().trim();
  if (which() === "") Bun.spawnSync(["apt-get", "install", "-y", "restic"], { stdout: "inherit" });
  const path = which();
  if (path === "") throw new Error("restic is missing: apt-get install -y restic");
  return path;
}

interface ToolResult {
  name: string;
  version: string;
  backup: Run;
  rebackup: Run;
  restore: Run;
  repoBytes: number;
  restoredBytes: number;
  restoredFiles: number;
  added?: number;
}

function lastJsonLine(text: string): Record<string, unknown> {
  const lines = text
    .trim()
    .split("\n")
    .filter((l) => l.startsWith("{"));
  return JSON.parse(lines.at(-1) ?? "{}") as Record<string, unknown>;
}

function benchBackapp(tree: string, dir: string, target: Target): ToolResult {
  const cmd = backappCommand();
  const restoreDir = join(dir, "restore-backapp");
  target.reset("backapp");
  rmSync(restoreDir, { recursive: true, force: true });
  const env = { BACKAPP_PASSWORD: PASSWORD, ...target.backappEnv("backapp") };
  timed([...cmd, "init"], env);
  const backup = timed([...cmd, "backup", "--json", tree], env);
  const rebackup = timed([...cmd, "backup", "--json", tree], env);
  const restore = timed([...cmd, "restore", "latest", "--target", restoreDir], env);
  const stats = treeStats(restoreDir);
  const version = Bun.spawnSync([...cmd, "--version"])
    .stdout.toString()
    .trim();
  const summary = lastJsonLine(backup.stdout);
  rmSync(restoreDir, { recursive: true, force: true });
  return {
    name: cmd.length === 1 ? "backapp (binary)" : "backapp (bun src/main.ts)",
    version,
    backup,
    rebackup,
    restore,
    repoBytes: target.repoBytes("backapp"),
    restoredBytes: stats.bytes,
    restoredFiles: stats.files,
    added: Number(summary.bytes_added),
  };
}

function benchRestic(tree: string, dir: string, target: Target): ToolResult {
  const restic = [ensureRestic(), ...target.resticArgs];
  const restoreDir = join(dir, "restore-restic");
  const cache = join(dir, "restic-cache");
  target.reset("restic");
  for (const p of [restoreDir, cache]) rmSync(p, { recursive: true, force: true });
  const env = { RESTIC_PASSWORD: PASSWORD, RESTIC_CACHE_DIR: cache, ...target.resticEnv("restic") };
  timed([...restic, "init", "--repository-version", "2"], env);
  const backup = timed([...restic, "backup", "--json", tree], env);
  const rebackup = timed([...restic, "backup", "--json", tree], env);
  const restore = timed([...restic, "restore", "latest", "--target", restoreDir], env);
  const stats = treeStats(restoreDir);
  const version = Bun.spawnSync([restic[0]!, "version"]).stdout.toString().trim();
  const summary = lastJsonLine(backup.stdout);
  for (const p of [restoreDir, cache]) rmSync(p, { recursive: true, force: true });
  return {
    name: "restic",
    version,
    backup,
    rebackup,
    restore,
    repoBytes: target.repoBytes("restic"),
    restoredBytes: stats.bytes,
    restoredFiles: stats.files,
    added: Number(summary.data_added),
  };
}

const mb = (bytes: number, seconds: number) => (bytes / 1e6 / seconds).toFixed(1);
const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

/** A Markdown table padded the way the formatter wants it: first column left, the rest right. */
function alignedTable(cells: string[][]): string[] {
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) =>
    `| ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ")} |`;
  const sep = `| ${widths.map((w, i) => (i === 0 ? "-".repeat(w) : `${"-".repeat(w - 1)}:`)).join(" | ")} |`;
  return [line(cells[0]!), sep, ...cells.slice(1).map(line)];
}

function table(treeBytes: number, results: ToolResult[]): string[] {
  const rows: [string, (r: ToolResult) => string][] = [
    ["initial backup, MB/s", (r) => mb(treeBytes, r.backup.seconds)],
    ["initial backup, s", (r) => r.backup.seconds.toFixed(1)],
    ["unchanged re-backup, s", (r) => r.rebackup.seconds.toFixed(2)],
    ["restore, MB/s", (r) => mb(treeBytes, r.restore.seconds)],
    ["restore, s", (r) => r.restore.seconds.toFixed(1)],
    ["repository size, MiB", (r) => mib(r.repoBytes)],
    ["peak RSS backup, MiB", (r) => mib(r.backup.maxRssKiB * 1024)],
    ["peak RSS re-backup, MiB", (r) => mib(r.rebackup.maxRssKiB * 1024)],
    ["peak RSS restore, MiB", (r) => mib(r.restore.maxRssKiB * 1024)],
    ["restored files / MiB", (r) => `${r.restoredFiles} / ${mib(r.restoredBytes)}`],
  ];
  return alignedTable([
    ["metric", ...results.map((r) => r.name)],
    ...rows.map(([label, f]) => [label, ...results.map(f)]),
  ]);
}

interface Section {
  target: string;
  results: ToolResult[];
}

function report(treeBytes: number, treeFiles: number, sections: Section[]): string {
  const versions = sections[0]?.results.map((r) => `${r.name} ${r.version}`).join("; ") ?? "";
  return [
    `# backapp vs restic — ${new Date().toISOString()}`,
    "",
    `Tree: ${treeFiles} files, ${mib(treeBytes)} MiB (bench/lib/tree.ts, deterministic).`,
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${mib(totalmem())} MiB RAM.`,
    `Page cache: ${cachesDropped ? "dropped before every step (cold reads)" : "not droppable here (warm reads for both tools)"}.`,
    `Versions: ${versions}.`,
    "MB = 10^6 bytes; rates are tree bytes / wall seconds of the whole command (start-up included).",
    ...sections.flatMap((s) => ["", `## Target: ${s.target}`, "", ...table(treeBytes, s.results)]),
    "",
  ].join("\n");
}

async function main(): Promise<void> {
  mkdirSync(workDir, { recursive: true });
  console.log(`generating the tree in ${workDir}/tree (once; reused when unchanged)…`);
  const tree = ensureTree(join(workDir, "tree"), spec);
  console.log(`tree: ${tree.files} files, ${mib(tree.bytes)} MiB`);
  const targets: Target[] = [localTarget(workDir)];
  if (argv.includes("--s3")) targets.push(await s3Target(workDir));
  const sections: Section[] = [];
  try {
    for (const target of targets) {
      console.log(`${target.label}: backapp…`);
      const ours = benchBackapp(tree.path, workDir, target);
      target.reset("backapp");
      console.log(`${target.label}: restic…`);
      const theirs = benchRestic(tree.path, workDir, target);
      target.reset("restic");
      sections.push({ target: target.label.replace(/ \(.*\)$/, ""), results: [ours, theirs] });
    }
  } finally {
    for (const t of targets) t.stop();
  }
  const md = report(tree.bytes, tree.files, sections);
  const out =
    flag("--out") ??
    join(root, "bench", "results", `restic-compare-${new Date().toISOString().slice(0, 10)}.md`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, md);
  console.log(`\n${md}\nwritten to ${out}`);
}

await main();
