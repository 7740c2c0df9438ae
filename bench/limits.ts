/**
 * Limits bench (not a test). `bun bench/limits.ts [--dir DIR] [--sparse-gib N] [--entries N] [--out FILE]`
 *
 * 1. A sparse file of N GiB (default 10) with 1 MiB of data at its start and end: `backup` and
 *    `restore` through the real CLI (child processes), wall time of each, and the restored file's
 *    allocated size (st_blocks) against its length.
 * 2. A source of N tiny files (default 1,000,000; 1,000 folders of 1,000 files of a few bytes):
 *    `backup` wall time and peak RSS (/usr/bin/time -f %M, else ru_maxrss of the child), and the
 *    same two backups with restic when `restic` is on PATH (the memory target is a ratio to it).
 * Results are printed and appended to bench/results/limits-YYYY-MM-DD.md (or --out).
 */
import { spawnSync } from "node:child_process";
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    dir: { type: "string", default: "/tmp/backapp-limits" },
    "sparse-gib": { type: "string", default: "10" },
    entries: { type: "string", default: "1000000" },
    out: { type: "string" },
  },
});
const root = resolve(values.dir!);
const bun = resolve(import.meta.dirname, "../node_modules/.bin/bun");
const main = resolve(import.meta.dirname, "../src/main.ts");
const out =
  values.out ?? resolve(import.meta.dirname, `results/limits-${new Date().toISOString().slice(0, 10)}.md`);
const MiB = 1024 * 1024;

interface Measured {
  seconds: number;
  rssMiB: number;
}

/** Runs `tool args` under /usr/bin/time (when present) and returns wall seconds and peak RSS. */
function timed(tool: string[], args: string[], env: NodeJS.ProcessEnv): Measured {
  const timeBin = existsSync("/usr/bin/time");
  const cmd = timeBin ? "/usr/bin/time" : tool[0]!;
  const argv = timeBin ? ["-f", "RSS_KB=%M", ...tool, ...args] : [...tool.slice(1), ...args];
  const started = performance.now();
  const r = spawnSync(cmd, argv, { env, encoding: "utf8", maxBuffer: 64 * MiB });
  const seconds = (performance.now() - started) / 1000;
  if (r.status !== 0) throw new Error(`${tool.join(" ")} ${args.join(" ")} failed: ${r.stderr}`);
  const rss = /RSS_KB=(\d+)/.exec(r.stderr ?? "");
  return { seconds, rssMiB: rss ? Number(rss[1]) / 1024 : Number.NaN };
}

function backapp(repo: string, args: string[]): Measured {
  return timed([bun, main], args, { ...process.env, BACKAPP_REPO: repo, BACKAPP_PASSWORD: "limits" });
}

const hasRestic = spawnSync("restic", ["version"]).status === 0;
function restic(repo: string, args: string[]): Measured {
  return timed(["restic"], args, { ...process.env, RESTIC_REPOSITORY: repo, RESTIC_PASSWORD: "limits" });
}

function sparse(gib: number): string {
  const src = join(root, "sparse-src");
  mkdirSync(src, { recursive: true });
  const path = join(src, "disk.img");
  const fd = openSync(path, "w");
  const data = new Uint8Array(MiB).map((_, i) => (i * 31 + 7) & 0xff);
  writeSync(fd, data, 0, MiB, 0);
  writeSync(fd, data, 0, MiB, gib * 1024 * MiB - MiB);
  closeSync(fd);
  const repo = join(root, "sparse-repo");
  backapp(repo, ["init"]);
  const b = backapp(repo, ["backup", src]);
  const target = join(root, "sparse-out");
  const r = backapp(repo, ["restore", "latest", "--target", target]);
  const st = statSync(join(target, path));
  return `| sparse ${gib} GiB | backup ${b.seconds.toFixed(1)} s (RSS ${b.rssMiB.toFixed(0)} MiB) | restore ${r.seconds.toFixed(1)} s (RSS ${r.rssMiB.toFixed(0)} MiB) | restored length ${(st.size / 2 ** 30).toFixed(2)} GiB, allocated ${((st.blocks * 512) / MiB).toFixed(1)} MiB |`;
}

function manyEntries(n: number): string {
  const src = join(root, "entries-src");
  const perDir = 1000;
  const started = performance.now();
  for (let d = 0; d * perDir < n; d++) {
    const dir = join(src, `d${d}`);
    mkdirSync(dir, { recursive: true });
    for (let f = 0; f < perDir && d * perDir + f < n; f++) writeFileSync(join(dir, `f${f}`), `${d}/${f}\n`);
  }
  const made = (performance.now() - started) / 1000;
  const repo = join(root, "entries-repo");
  backapp(repo, ["init"]);
  const b = backapp(repo, ["backup", src]);
  const again = backapp(repo, ["backup", src]);
  const rows = [
    `| ${n.toLocaleString("en")} tiny files (generated in ${made.toFixed(0)} s), backapp | first backup ${b.seconds.toFixed(1)} s, peak RSS ${b.rssMiB.toFixed(0)} MiB | unchanged re-backup ${again.seconds.toFixed(1)} s, peak RSS ${again.rssMiB.toFixed(0)} MiB | |`,
  ];
  if (hasRestic) {
    const rrepo = join(root, "entries-restic");
    restic(rrepo, ["init"]);
    const rb = restic(rrepo, ["backup", "-q", src]);
    const ragain = restic(rrepo, ["backup", "-q", src]);
    rows.push(
      `| same tree, restic | first backup ${rb.seconds.toFixed(1)} s, peak RSS ${rb.rssMiB.toFixed(0)} MiB | unchanged re-backup ${ragain.seconds.toFixed(1)} s, peak RSS ${ragain.rssMiB.toFixed(0)} MiB | backapp/restic peak RSS ${(b.rssMiB / rb.rssMiB).toFixed(2)}× first, ${(again.rssMiB / ragain.rssMiB).toFixed(2)}× re-backup |`,
    );
  }
  return rows.join("\n");
}

rmSync(root, { recursive: true, force: true });
mkdirSync(root, { recursive: true });
const lines = [
  `\n## ${new Date().toISOString()} (load average ${(await import("node:os")).loadavg()[0]!.toFixed(1)}, ${(await import("node:os")).cpus().length} cores)`,
  "| case | backup | restore / re-backup | result |",
  "|---|---|---|---|",
];
const gib = Number(values["sparse-gib"]);
if (gib > 0) lines.push(sparse(gib));
const entries = Number(values.entries);
if (entries > 0) lines.push(manyEntries(entries));
const text = `${lines.join("\n")}\n`;
console.log(text);
appendFileSync(out, text);
rmSync(root, { recursive: true, force: true });
