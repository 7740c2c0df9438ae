/**
 * The standard benchmark: backapp beside Debian's restic on the same generated tree and the same
 * kind of target. `npm run bench -- [small|medium|many-files|large] [--target local|s3|both]
 * [--cache hot|cold] [--repeats N] [--dir DIR] [--out FILE]` (bench/README.md).
 *
 * Per repeat and tool (tools interleaved, the order alternating between repeats), on a fresh
 * repository: init, initial backup, unchanged re-backup, re-backup after a ~1% change
 * (bench/lib/mutate.ts; undone afterwards), restore of that last snapshot, verified byte for byte
 * with `diff -r` against the changed tree. Each step runs under GNU `time -v` (wall, peak RSS, CPU,
 * page faults) with the page cache filled (hot) or dropped (cold) before it. Tables of medians go
 * to stdout, bench/results/bench-<set>-<cache>-<date>.{md,json} and bench/RESULTS.md.
 *
 * backapp runs as dist/backapp-linux-x64 when that binary has the engine commands (build it with
 * `bun build.ts --target linux-x64`), else as `bun src/main.ts`. restic uses repository format 2
 * (zstd, like backapp's default) and its own cache in the bench folder. Old flags: --small = small,
 * --s3 = --target both.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { type CacheMode, cachesDroppable, type Measured, measure } from "./lib/measure.ts";
import { mutate, revert } from "./lib/mutate.ts";
import { markdown, type Section, type ToolRun, type ToolSeries, updateResults } from "./lib/report.ts";
import { localTarget, s3Target, type Target } from "./lib/targets.ts";
import { DATASETS, ensureTree } from "./lib/tree.ts";

const root = join(import.meta.dir, "..");
const argv = process.argv.slice(2);
const flag = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const dataset = argv.find((a) => a in DATASETS) ?? (argv.includes("--small") ? "small" : "medium");
const targetArg = flag("--target") ?? (argv.includes("--s3") ? "both" : "local");
const cache = (flag("--cache") ?? "hot") as CacheMode;
const repeats = Math.max(1, Number(flag("--repeats") ?? 3));
const workDir = flag("--dir") ?? "/tmp/backapp-bench";
const PASSWORD = "bench-passphrase-not-secret";
if (!["local", "s3", "both"].includes(targetArg)) throw new Error("--target local|s3|both");
if (cache !== "hot" && cache !== "cold") throw new Error("--cache hot|cold");

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

/** How one tool is driven: its commands and environment for repository `name` on a target. */
interface Tool {
  name: string;
  version: string;
  env(target: Target): Record<string, string>;
  init: string[];
  backup: (tree: string) => string[];
  restore: (dir: string) => string[];
  cleanup(): void;
}

function backappTool(): Tool {
  const cmd = backappCommand();
  return {
    name: cmd.length === 1 ? "backapp (binary)" : "backapp (bun src/main.ts)",
    version: Bun.spawnSync([...cmd, "--version"])
      .stdout.toString()
      .trim(),
    env: (t) => ({ BACKAPP_PASSWORD: PASSWORD, ...t.backappEnv("backapp") }),
    init: [...cmd, "init"],
    backup: (tree) => [...cmd, "backup", "--json", tree],
    restore: (dir) => [...cmd, "restore", "latest", "--target", dir],
    cleanup: () => {},
  };
}

function resticTool(target: Target): Tool {
  const restic = [ensureRestic(), ...target.resticArgs];
  const cacheDir = join(workDir, "restic-cache");
  return {
    name: "restic",
    version: Bun.spawnSync([restic[0]!, "version"]).stdout.toString().trim(),
    env: (t) => ({ RESTIC_PASSWORD: PASSWORD, RESTIC_CACHE_DIR: cacheDir, ...t.resticEnv("restic") }),
    init: [...restic, "init", "--repository-version", "2"],
    backup: (tree) => [...restic, "backup", "--json", tree],
    restore: (dir) => [...restic, "restore", "latest", "--target", dir],
    cleanup: () => rmSync(cacheDir, { recursive: true, force: true }),
  };
}

/** True when `diff -r` finds the restored copy of `tree` identical to it (contents and names). */
function sameTree(tree: string, restoreDir: string): boolean {
  const r = Bun.spawnSync(["diff", "-rq", "--no-dereference", tree, join(restoreDir, tree)], {
    stdout: "pipe",
  });
  if (r.exitCode !== 0) console.error(r.stdout.toString().split("\n").slice(0, 5).join("\n"));
  return r.exitCode === 0;
}

/**
 * Restored copies are kept until the end of the run (oldest removed first past KEEP_BYTES):
 * ext4 skips inodes freed in the last 60-300 s when it allocates new ones, so a restore made
 * right after removing another restore of 20,000 files paid for that removal (once 13.7 s of
 * system time instead of ~2 s), landing on whichever tool ran next.
 */
const KEEP_BYTES = 12 * 1024 ** 3;
const kept: string[] = [];
let restores = 0;

/** Removes the oldest kept copies until one more of `treeBytes` fits in `keepBytes` (0: all). */
function removeRestores(keepBytes: number, treeBytes: number): void {
  while (kept.length > 0 && (kept.length + 1) * treeBytes > keepBytes) {
    rmSync(kept.shift()!, { recursive: true, force: true });
  }
}

/** The whole sequence for one tool on a fresh repository (tool name doubles as repository name). */
function runTool(tool: Tool, target: Target, tree: string, treeBytes: number): ToolRun {
  const repo = tool.name.startsWith("backapp") ? "backapp" : "restic";
  const restoreDir = join(workDir, `restore-${repo}-${++restores}`);
  target.reset(repo);
  tool.cleanup();
  removeRestores(KEEP_BYTES, treeBytes);
  kept.push(restoreDir);
  const env = tool.env(target);
  const report = join(workDir, "time-report.txt");
  const step = (cmd: string[], warm: string[]): Measured => measure(cmd, env, cache, warm, report);
  step(tool.init, []);
  const backup = step(tool.backup(tree), [tree]);
  const rebackup = step(tool.backup(tree), [tree]);
  let mutated: Measured;
  let restore: Measured;
  let verified: boolean;
  try {
    mutate(tree);
    mutated = step(tool.backup(tree), [tree]);
    restore = step(tool.restore(restoreDir), [target.repoDir(repo)]);
    verified = sameTree(tree, restoreDir);
  } finally {
    revert(tree);
  }
  const repoBytes = target.repoBytes(repo);
  target.reset(repo);
  tool.cleanup();
  return { backup, rebackup, mutated, restore, repoBytes, verified };
}

const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

async function makeTargets(): Promise<Target[]> {
  const out: Target[] = [];
  if (targetArg !== "s3") out.push(localTarget(workDir));
  if (targetArg !== "local") out.push(await s3Target(workDir));
  return out;
}

async function main(): Promise<void> {
  mkdirSync(workDir, { recursive: true });
  // Restored copies an interrupted run left behind.
  for (const name of readdirSync(workDir)) {
    if (/^restore-(backapp|restic)(-\d+)?$/.test(name))
      rmSync(join(workDir, name), { recursive: true, force: true });
  }
  const treePath = join(workDir, `tree-${dataset}`);
  revert(treePath);
  console.log(`tree ${dataset} in ${treePath} (generated once, reused while unchanged)…`);
  const tree = ensureTree(treePath, DATASETS[dataset]);
  console.log(`tree: ${tree.files} files, ${mib(tree.bytes)} MiB`);
  const loadBefore = loadavg().map((x) => x.toFixed(2));
  const targets = await makeTargets();
  const stopAll = () => {
    for (const t of targets) t.stop();
  };
  process.once("SIGINT", () => {
    stopAll();
    revert(treePath);
    process.exit(130);
  });
  const sections: Section[] = [];
  try {
    for (const target of targets) {
      const tools = [backappTool(), resticTool(target)];
      const series: ToolSeries[] = tools.map((t) => ({ name: t.name, version: t.version, runs: [] }));
      for (let i = 0; i < repeats; i++) {
        const order = i % 2 === 0 ? [0, 1] : [1, 0];
        for (const k of order) {
          console.log(`${target.label}: ${tools[k]!.name}, run ${i + 1}/${repeats}…`);
          series[k]!.runs.push(runTool(tools[k]!, target, tree.path, tree.bytes));
        }
      }
      sections.push({ target: target.label.replace(/ \(.*\)$/, ""), tools: series });
    }
  } finally {
    stopAll();
    removeRestores(0, 1);
  }
  const date = new Date().toISOString().slice(0, 10);
  const probe = mutationFacts(treePath);
  const md = markdown(
    tree,
    {
      dataset,
      cache,
      repeats,
      command: `npm run bench -- ${dataset} --target ${targetArg} --cache ${cache} --repeats ${repeats}`,
      machine: `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${mib(totalmem())} MiB RAM`,
      load: `${loadBefore.join(" ")} at the start, ${loadavg()
        .map((x) => x.toFixed(2))
        .join(" ")} at the end (1/5/15 min)`,
      cacheNote:
        cache === "hot"
          ? "hot (source tree or repository read through and synced before each step)"
          : cachesDroppable()
            ? "cold (dropped before each step)"
            : "cold requested but drop_caches is not permitted here: reads were warm",
      mutation: probe,
    },
    sections,
  );
  const base =
    flag("--out") ?? join(root, "bench", "results", `bench-${dataset}-${targetArg}-${cache}-${date}`);
  mkdirSync(join(root, "bench", "results"), { recursive: true });
  writeFileSync(`${base}.md`, `# backapp vs restic\n\n${md}`);
  writeFileSync(
    `${base}.json`,
    JSON.stringify({ dataset, cache, repeats, targetArg, tree, sections }, null, 1),
  );
  updateResults(join(root, "bench", "RESULTS.md"), `${dataset}:${targetArg}:${cache}`, md);
  console.log(`\n${md}\nwritten to ${base}.md, ${base}.json and bench/RESULTS.md`);
}

/** What the ~1% change step touches on this tree (mutated, measured and reverted at once). */
function mutationFacts(treePath: string): string {
  try {
    const m = mutate(treePath);
    return `${m.files} files, ${mib(m.bytes)} MiB rewritten`;
  } finally {
    revert(treePath);
  }
}

await main();
