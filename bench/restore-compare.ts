/**
 * Restore only, side by side: backapp builds (one or several commands, e.g. a binary before and
 * after a change) and restic restore the same snapshot from the same target, interleaved, under
 * GNU `time -v`. Each tool backs the tree up once; then R rounds of restores follow, every round
 * running each tool once, and each restore is checked with `diff -r`. The full harness
 * (restic-compare.ts) runs four steps per tool; this one is for restore work, where only the
 * restore matters and a shared machine's noise is best met by alternating runs.
 *
 *   bun bench/restore-compare.ts [small|medium|many-files|large] [--target local|s3]
 *     [--cache hot|cold] [--repeats R] [--backapp "label=cmd args"]... [--dir DIR] [--reuse]
 *
 * --reuse restores the repositories a previous run left in DIR (no init, no backup).
 * Without --backapp: `bun src/main.ts` of this checkout. The first --backapp command makes the
 * backup; every one restores it (the repository format is shared).
 */
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { type CacheMode, type Measured, measure, median } from "./lib/measure.ts";
import { localTarget, s3Target, type Target } from "./lib/targets.ts";
import { DATASETS, ensureTree } from "./lib/tree.ts";

const root = join(import.meta.dir, "..");
const argv = process.argv.slice(2);
const flag = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const flags = (name: string) => argv.flatMap((a, i) => (a === name && argv[i + 1] ? [argv[i + 1]!] : []));
const dataset = argv.find((a) => a in DATASETS) ?? "medium";
const targetArg = flag("--target") ?? "s3";
const cache = (flag("--cache") ?? "hot") as CacheMode;
const repeats = Math.max(1, Number(flag("--repeats") ?? 3));
const workDir = flag("--dir") ?? "/tmp/backapp-bench";
const PASSWORD = "bench-passphrase-not-secret";

interface Runner {
  label: string;
  repo: string;
  restore(dir: string): string[];
  env(t: Target): Record<string, string>;
}

function backappRunners(): Array<Runner & { cmd: string[] }> {
  const given = flags("--backapp");
  const specs = given.length > 0 ? given : [`source=${root}/node_modules/.bin/bun ${root}/src/main.ts`];
  return specs.map((s) => {
    const [label, cmd] = s.includes("=") ? [s.slice(0, s.indexOf("=")), s.slice(s.indexOf("=") + 1)] : [s, s];
    const parts = cmd.split(" ").filter(Boolean);
    return {
      label: `backapp ${label}`,
      repo: "backapp",
      cmd: parts,
      restore: (dir) => [...parts, "restore", "latest", "--target", dir],
      env: (t) => ({ BACKAPP_PASSWORD: PASSWORD, ...t.backappEnv("backapp") }),
    };
  });
}

function resticRunner(t: Target): Runner & { cmd: string[] } {
  const cmd = ["restic", ...t.resticArgs];
  const cacheDir = join(workDir, "restic-cache");
  return {
    label: "restic",
    repo: "restic",
    cmd,
    restore: (dir) => [...cmd, "restore", "latest", "--target", dir],
    env: (tt) => ({ RESTIC_PASSWORD: PASSWORD, RESTIC_CACHE_DIR: cacheDir, ...tt.resticEnv("restic") }),
  };
}

const fmt = (x: number, d = 2) => x.toFixed(d);

async function main(): Promise<void> {
  mkdirSync(workDir, { recursive: true });
  const tree = ensureTree(join(workDir, `tree-${dataset}`), DATASETS[dataset]);
  const reuse = argv.includes("--reuse");
  const target = targetArg === "local" ? localTarget(workDir) : await s3Target(workDir, reuse);
  const report = join(workDir, "time-report.txt");
  const keep = join(workDir, "restore-cmp");
  rmSync(keep, { recursive: true, force: true });
  try {
    const backapps = backappRunners();
    const restic = resticRunner(target);
    const inits: Array<[Runner & { cmd: string[] }, string[]]> = [
      [backapps[0]!, []],
      [restic, ["--repository-version", "2"]],
    ];
    for (const [r, extra] of reuse ? [] : inits) {
      target.reset(r.repo);
      measure([...r.cmd, "init", ...extra], r.env(target), "hot", [], report);
      const b = measure([...r.cmd, "backup", tree.path], r.env(target), "hot", [tree.path], report);
      console.log(`${r.label}: backup ${fmt(b.seconds)} s`);
    }
    const runners: Runner[] = [...backapps, restic];
    const results = new Map<string, Measured[]>(runners.map((r) => [r.label, []]));
    for (let i = 0; i < repeats; i++) {
      const order = i % 2 === 0 ? runners : [...runners].reverse();
      for (const r of order) {
        // A fresh folder per restore, all removed at the end: on ext4 without a journal (this VM) a
        // create right after a big delete scans the recently deleted inodes, seconds of system time
        // billed to whichever tool restores next.
        const dir = join(keep, `restore-${i}-${r.label.replace(/\W+/g, "-")}`);
        const m = measure(r.restore(dir), r.env(target), cache, [target.repoDir(r.repo)], report);
        const ok =
          Bun.spawnSync(["diff", "-rq", "--no-dereference", tree.path, join(dir, tree.path)]).exitCode === 0;
        if (!ok) throw new Error(`${r.label}: restored tree differs`);
        console.log(
          `${r.label} run ${i + 1}: ${fmt(m.seconds)} s, CPU ${fmt(m.userSeconds + m.systemSeconds)} s (sys ${fmt(m.systemSeconds)}), RSS ${fmt(m.maxRssKiB / 1024, 0)} MiB`,
        );
        results.get(r.label)!.push(m);
      }
    }
    const resticWall = median(results.get("restic")!.map((m) => m.seconds));
    console.log(
      `\n${dataset}, ${target.label.replace(/ \(.*\)$/, "")}, cache ${cache}, medians of ${repeats} (verified with diff -r)\n`,
    );
    console.log("| tool | restore s | MB/s | vs restic | CPU s (user+sys) | sys s | peak RSS MiB |");
    console.log("|---|---:|---:|---:|---:|---:|---:|");
    for (const [label, ms] of results) {
      const s = median(ms.map((m) => m.seconds));
      const cpu = median(ms.map((m) => m.userSeconds + m.systemSeconds));
      const sys = median(ms.map((m) => m.systemSeconds));
      const rss = median(ms.map((m) => m.maxRssKiB / 1024));
      console.log(
        `| ${label} | ${fmt(s)} | ${fmt(tree.bytes / 1e6 / s, 1)} | ${fmt(resticWall / s)}× | ${fmt(cpu)} | ${fmt(sys)} | ${fmt(rss, 0)} |`,
      );
    }
  } finally {
    target.stop();
    rmSync(keep, { recursive: true, force: true });
  }
}

await main();
