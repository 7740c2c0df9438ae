/**
 * Re-backup only, side by side: `bun bench/rebackup.ts [small|medium|many-files] [--repeats N]
 * [--backapp "label=/path/to/binary"]... [--dir DIR] [--reuse] [--change]`.
 *
 * Backs the tree up once into a local repository per tool (kept in DIR; `--reuse` skips that when
 * the repositories are there), then runs the unchanged re-backup N times per tool (every
 * `--backapp` build and restic, interleaved, order alternating), hot cache, under GNU `time -v`.
 * `--change` also times a re-backup after the ~1% change of restic-compare.ts (undone afterwards;
 * it writes a snapshot, so the next unchanged run compares against it, as in the standard run).
 * Prints median wall, files/s, CPU and peak RSS, and the ratio to restic.
 */
import { existsSync, mkdirSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { type Measured, measure, median } from "./lib/measure.ts";
import { mutate, revert } from "./lib/mutate.ts";
import { DATASETS, ensureTree } from "./lib/tree.ts";

const argv = process.argv.slice(2);
const flag = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const dataset = argv.find((a) => a in DATASETS) ?? "medium";
const repeats = Math.max(1, Number(flag("--repeats") ?? 3));
const workDir = flag("--dir") ?? "/tmp/backapp-bench";
const PASSWORD = "bench-passphrase-not-secret";
const root = join(import.meta.dir, "..");

interface Tool {
  label: string;
  repo: string;
  env: Record<string, string>;
  init: string[];
  backup: (tree: string) => string[];
}

function tools(): Tool[] {
  const builds: string[] = [];
  argv.forEach((a, i) => {
    if (a === "--backapp" && argv[i + 1]) builds.push(argv[i + 1]!);
  });
  if (builds.length === 0) builds.push(`backapp=${join(root, "dist", "backapp-linux-x64")}`);
  const out: Tool[] = builds.map((b) => {
    const [label, bin] = b.includes("=") ? [b.slice(0, b.indexOf("=")), b.slice(b.indexOf("=") + 1)] : [b, b];
    // One repository per build: a build's re-backup must have its own snapshot as parent (what a
    // snapshot records, e.g. whether it read extended attributes, differs between builds).
    const repo = join(
      workDir,
      builds.length === 1 ? `rebackup-${dataset}-backapp` : `rebackup-${dataset}-${label}`,
    );
    return {
      label: label!,
      repo,
      env: { BACKAPP_PASSWORD: PASSWORD, BACKAPP_REPO: repo },
      init: [bin!, "init"],
      backup: (tree) => [bin!, "backup", "--json", tree],
    };
  });
  const resticRepo = join(workDir, `rebackup-${dataset}-restic`);
  out.push({
    label: "restic",
    repo: resticRepo,
    env: {
      RESTIC_PASSWORD: PASSWORD,
      RESTIC_REPOSITORY: resticRepo,
      RESTIC_CACHE_DIR: join(workDir, `rebackup-${dataset}-restic-cache`),
    },
    init: ["restic", "init", "--repository-version", "2"],
    backup: (tree) => ["restic", "backup", "--json", tree],
  });
  return out;
}

const fmt = (m: Measured) =>
  `${m.seconds.toFixed(2)} s, CPU ${(m.userSeconds + m.systemSeconds).toFixed(2)} s (sys ${m.systemSeconds.toFixed(2)}), RSS ${(m.maxRssKiB / 1024).toFixed(0)} MiB`;

mkdirSync(workDir, { recursive: true });
const tree = join(workDir, dataset === "medium" ? "tree" : `tree-${dataset}`);
revert(tree);
const info = ensureTree(tree, DATASETS[dataset]);
const all = tools();
const report = join(workDir, "rebackup-time.txt");
console.log(
  `# re-backup, ${dataset}: ${info.files} files; load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}`,
);
const initial = new Set<string>();
for (const t of all) {
  if (initial.has(t.repo)) continue;
  initial.add(t.repo);
  if (argv.includes("--reuse") && existsSync(t.repo)) continue;
  Bun.spawnSync(["rm", "-rf", t.repo, t.env.RESTIC_CACHE_DIR ?? "/nonexistent"]);
  measure(t.init, t.env, "hot", [], report);
  console.log(`initial backup ${t.label}: ${fmt(measure(t.backup(tree), t.env, "hot", [tree], report))}`);
}
const runs = new Map<string, Measured[]>(all.map((t) => [t.label, []]));
const changed = new Map<string, Measured[]>(all.map((t) => [t.label, []]));
for (let r = 0; r < repeats; r++) {
  const order = r % 2 === 0 ? all : [...all].reverse();
  for (const t of order) {
    const m = measure(t.backup(tree), t.env, "hot", [tree], report);
    runs.get(t.label)!.push(m);
    console.log(`unchanged ${t.label}: ${fmt(m)}`);
  }
  if (!argv.includes("--change")) continue;
  try {
    mutate(tree);
    for (const t of order) {
      const m = measure(t.backup(tree), t.env, "hot", [tree], report);
      changed.get(t.label)!.push(m);
      console.log(`after ~1% change ${t.label}: ${fmt(m)}`);
    }
  } finally {
    revert(tree);
  }
}
const med = (xs: Measured[], f: (m: Measured) => number) => median(xs.map(f));
const restic = med(runs.get("restic")!, (m) => m.seconds);
const resticChanged = argv.includes("--change") ? med(changed.get("restic")!, (m) => m.seconds) : 0;
console.log(
  `\n| tool | unchanged s | files/s | vs restic | CPU s | peak RSS MiB | after 1% change s | vs restic |`,
);
console.log("|---|---:|---:|---:|---:|---:|---:|---:|");
for (const t of all) {
  const xs = runs.get(t.label)!;
  const s = med(xs, (m) => m.seconds);
  const c = changed.get(t.label)!;
  const cs = c.length > 0 ? med(c, (m) => m.seconds) : Number.NaN;
  console.log(
    `| ${t.label} | ${s.toFixed(2)} | ${Math.round(info.files / s)} | ${(s / restic).toFixed(2)}× | ${med(xs, (m) => m.userSeconds + m.systemSeconds).toFixed(2)} | ${(med(xs, (m) => m.maxRssKiB) / 1024).toFixed(0)} | ${c.length > 0 ? cs.toFixed(2) : "—"} | ${c.length > 0 ? `${(cs / resticChanged).toFixed(2)}×` : "—"} |`,
  );
}
console.log(
  `\nload ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}; ratios are time / restic's time (lower is better)`,
);
