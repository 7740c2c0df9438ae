/**
 * Kill loop (not a test: it runs for minutes). `bun bench/chaos-kill.ts [--dir DIR] [--rounds N]
 * [--targets local,s3] [--seed N] [--max-kill-ms MS] [--prune-kill-ms MS] [--out FILE]`
 *
 * On each target (a local folder; s3rver over HTTPS in its own process, bench/lib/targets.ts):
 * `init`, then N rounds of a real `bun src/main.ts backup` (or, one round in four, `forget
 * --keep-last 2 --prune`) SIGKILLed after a random 0.05 s – max-kill-ms (default 5 s; a forget
 * is let finish half of the time; one backup in four runs with --full); 16–64 MiB of new data
 * per round in the ~214 MiB tree. --prune-kill-ms switches to prune-focused rounds (see below).
 * After every round `check` must exit 0. After the loop: a full backup completes, `check
 * --read-data` passes, the latest snapshot restores byte for byte (content, type, mode, mtime,
 * symlink target), and restores SIGKILLed mid-way and rerun into the same target are exact too.
 * Failures are collected, not thrown; results go to bench/results/chaos-kill-YYYY-MM-DD.md.
 */
import { createHash, randomBytes } from "node:crypto";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { localTarget, s3Target, type Target } from "./lib/targets.ts";
import { ensureTree } from "./lib/tree.ts";

const { values } = parseArgs({
  options: {
    dir: { type: "string", default: "/tmp/backapp-chaos" },
    rounds: { type: "string", default: "24" },
    targets: { type: "string", default: "local,s3" },
    seed: { type: "string", default: String(Date.now() % 1_000_000) },
    "max-kill-ms": { type: "string", default: "5000" },
    /**
     * Prune-focused runs: every other round a forget --prune, 4 in 5 killed within this many ms
     * (at most the duration of the last forget that ran to the end); backups are not killed.
     */
    "prune-kill-ms": { type: "string" },
    out: { type: "string" },
  },
});
const root = resolve(values.dir!);
const rounds = Number(values.rounds);
const maxKillMs = Number(values["max-kill-ms"]);
const pruneKillMs = values["prune-kill-ms"] === undefined ? null : Number(values["prune-kill-ms"]);
const bun = resolve(import.meta.dirname, "../node_modules/.bin/bun");
const main = resolve(import.meta.dirname, "../src/main.ts");
const password = "chaos passphrase";

/** A small seeded generator (mulberry32) so a failing run can be replayed with --seed. */
let state = Number(values.seed) >>> 0;
function rand(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

interface Run {
  code: number | null;
  signal: string | number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs backapp; with `killAfterMs`, SIGKILLs it then unless it finished first. */
async function backapp(env: Record<string, string>, args: string[], killAfterMs?: number): Promise<Run> {
  const started = performance.now();
  const proc = Bun.spawn([bun, main, ...args], {
    env: { ...process.env, BACKAPP_PASSWORD: password, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), killAfterMs ?? 600_000);
  const [stdout, stderr] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
  ]);
  await proc.exited;
  clearTimeout(timer);
  return { code: proc.exitCode, signal: proc.signalCode, stdout, stderr, ms: performance.now() - started };
}

const killed = (r: Run) => r.signal === "SIGKILL";

/** The ~200 MiB tree plus the awkward bits (symlinks, empty file and dir) and a churn folder. */
function prepareTree(): string {
  const tree = ensureTree(join(root, "tree"), {
    smallFiles: 5000,
    mediumFiles: 60,
    largeMixedMiB: [64],
    largeRandomMiB: [48],
  });
  const extra = join(tree.path, "extra");
  rmSync(extra, { recursive: true, force: true });
  mkdirSync(join(extra, "empty-dir"), { recursive: true });
  writeFileSync(join(extra, "empty-file"), "");
  symlinkSync("../medium", join(extra, "link-to-dir"));
  symlinkSync("does-not-exist", join(extra, "dangling"));
  writeFileSync(join(extra, "name with spaces ü.txt"), "unicode\n");
  return tree.path;
}

/** Changes a few files between rounds: a new 16–64 MiB file each round (new data to upload), one rewritten. */
function churn(tree: string, round: number): void {
  const dir = join(tree, "extra", "churn");
  mkdirSync(dir, { recursive: true });
  const bytes = randomBytes(16 * 1024 * 1024 + Math.floor(rand() * 48 * 1024 * 1024));
  writeFileSync(join(dir, `round-${round}.bin`), bytes);
  writeFileSync(join(dir, "log.txt"), `round ${round}\n`.repeat(1000 + round));
  if (round >= 3) rmSync(join(dir, `round-${round - 3}.bin`), { force: true });
}

/** Differences between two trees (content hash, type, mode, mtime ms, symlink target). */
function compareTrees(a: string, b: string, rel = "", out: string[] = []): string[] {
  const names = new Set([...readdirSync(join(a, rel)), ...readdirSync(join(b, rel))]);
  for (const name of [...names].sort()) {
    const p = join(rel, name);
    if (out.length > 20) return out;
    if (!existsSync(join(b, p)) && !isLink(join(b, p))) {
      out.push(`missing in restore: ${p}`);
      continue;
    }
    if (!existsSync(join(a, p)) && !isLink(join(a, p))) {
      out.push(`extra in restore: ${p}`);
      continue;
    }
    const sa = lstatSync(join(a, p));
    const sb = lstatSync(join(b, p));
    if ((sa.mode & 0o170000) !== (sb.mode & 0o170000)) out.push(`type differs: ${p}`);
    else if ((sa.mode & 0o7777) !== (sb.mode & 0o7777)) out.push(`mode differs: ${p}`);
    else if (sa.isSymbolicLink()) {
      if (readlinkSync(join(a, p)) !== readlinkSync(join(b, p))) out.push(`link target differs: ${p}`);
    } else if (sa.isDirectory()) compareTrees(a, b, p, out);
    else if (Math.floor(sa.mtimeMs) !== Math.floor(sb.mtimeMs)) out.push(`mtime differs: ${p}`);
    else if (sa.size !== sb.size || hash(join(a, p)) !== hash(join(b, p))) out.push(`content differs: ${p}`);
  }
  return out;
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

function hash(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

interface Tally {
  target: string;
  backups: { killed: number; completed: number; failed: number };
  forgets: { killed: number; completed: number; failed: number };
  checks: number;
  /** Checks that passed with a note (packs in no index file, left by a killed run). */
  notes: number;
  restores: { killed: number; completed: number };
  failures: string[];
  final: string[];
}

function record(t: Tally["backups"], r: Run): void {
  if (killed(r)) t.killed += 1;
  else if (r.code === 0) t.completed += 1;
  else t.failed += 1;
}

async function loop(target: Target, tree: string): Promise<Tally> {
  const name = `chaos-${Date.now()}`;
  const env = target.backappEnv(name);
  const tally: Tally = {
    target: target.label,
    backups: { killed: 0, completed: 0, failed: 0 },
    forgets: { killed: 0, completed: 0, failed: 0 },
    checks: 0,
    notes: 0,
    restores: { killed: 0, completed: 0 },
    failures: [],
    final: [],
  };
  const fail = (what: string, r: Run) =>
    tally.failures.push(`${what}: exit ${r.code} ${r.signal ?? ""} ${r.stderr.trim().slice(0, 600)}`);
  const init = await backapp(env, ["init"]);
  if (init.code !== 0) throw new Error(`init failed: ${init.stderr}`);
  let lastForgetMs = pruneKillMs ?? 0;
  for (let round = 0; round < rounds; round++) {
    churn(tree, round);
    const delay = 50 + rand() * (maxKillMs - 50);
    const isForget = pruneKillMs === null ? round % 4 === 3 : round % 2 === 1;
    const full = !isForget && rand() < 0.25 ? ["--full"] : [];
    const args = isForget ? ["forget", "--keep-last", "2", "--prune"] : ["backup", ...full, tree];
    // Prune-focused: backups run to the end (so there is something to forget), prunes are killed.
    const killAt =
      pruneKillMs === null
        ? isForget && rand() < 0.5
          ? undefined
          : delay
        : isForget && rand() < 0.8
          ? 50 + rand() * (Math.min(pruneKillMs, lastForgetMs) - 50)
          : undefined;
    const r = await backapp(env, args, killAt);
    // Prune-focused kills land anywhere within what a whole forget --prune took last time.
    if (isForget && r.code === 0) lastForgetMs = r.ms;
    record(isForget ? tally.forgets : tally.backups, r);
    if (!killed(r) && r.code !== 0 && !(r.code === 3 && !isForget)) fail(`round ${round} ${args[0]}`, r);
    const check = await backapp(env, ["check"]);
    tally.checks += 1;
    if (check.stdout.includes("note:")) tally.notes += 1;
    const line = `round ${round}: ${args[0]} ${killed(r) ? `killed at ${Math.round(killAt ?? 0)} ms` : `exit ${r.code}`} (${Math.round(r.ms)} ms), check exit ${check.code}`;
    console.log(line);
    if (check.code !== 0) fail(`round ${round} check after ${args[0]}`, check);
  }
  await finalChecks(env, tree, tally);
  target.reset(name);
  return tally;
}

async function finalChecks(env: Record<string, string>, tree: string, tally: Tally): Promise<void> {
  const step = (what: string, r: Run) => {
    tally.final.push(`${what}: exit ${r.code}${r.signal ? ` ${r.signal}` : ""} (${Math.round(r.ms)} ms)`);
    if (r.code !== 0) tally.failures.push(`${what}: exit ${r.code} ${r.stderr.trim().slice(0, 600)}`);
  };
  step("final backup", await backapp(env, ["backup", tree]));
  step("check --read-data", await backapp(env, ["check", "--read-data"]));
  const target = join(root, "restore");
  rmSync(target, { recursive: true, force: true });
  step("restore latest", await backapp(env, ["restore", "latest", "--target", target]));
  tally.restores.completed += 1;
  diff("restore", tree, join(target, tree), tally);
  // Killed restores into a fresh target, each rerun until one completes, then compared.
  for (let i = 0; i < 3; i++) {
    rmSync(target, { recursive: true, force: true });
    const delay = 200 + rand() * 2800;
    const r = await backapp(env, ["restore", "latest", "--target", target], delay);
    if (killed(r)) tally.restores.killed += 1;
    tally.final.push(
      `restore ${i + 1}: ${killed(r) ? `killed at ${Math.round(delay)} ms` : `exit ${r.code}`}`,
    );
    step(`restore ${i + 1} rerun`, await backapp(env, ["restore", "latest", "--target", target]));
    tally.restores.completed += 1;
    diff(`restore ${i + 1} after kill`, tree, join(target, tree), tally);
  }
  rmSync(target, { recursive: true, force: true });
}

function diff(what: string, source: string, restored: string, tally: Tally): void {
  const d = compareTrees(source, restored);
  tally.final.push(`${what} compared: ${d.length === 0 ? "identical" : `${d.length} differences`}`);
  for (const x of d) tally.failures.push(`${what}: ${x}`);
}

function report(tallies: Tally[]): string {
  const lines = [
    `# Chaos kill loop, ${new Date().toISOString().slice(0, 10)}`,
    "",
    `\`bun bench/chaos-kill.ts --rounds ${rounds} --seed ${values.seed} --max-kill-ms ${maxKillMs}${pruneKillMs === null ? "" : ` --prune-kill-ms ${pruneKillMs}`}\` (${rounds} rounds per target; ` +
      `backups and \`forget --keep-last 2 --prune\` SIGKILLed after 0.05–${maxKillMs / 1000} s; \`check\` after each round).`,
    "",
  ];
  for (const t of tallies) {
    lines.push(`## ${t.target}`, "");
    lines.push(
      `- backups: ${t.backups.killed} killed, ${t.backups.completed} completed, ${t.backups.failed} failed`,
    );
    lines.push(
      `- forget --prune: ${t.forgets.killed} killed, ${t.forgets.completed} completed, ${t.forgets.failed} failed`,
    );
    lines.push(`- checks after a round: ${t.checks} (${t.notes} with a note about unindexed packs)`);
    lines.push(`- restores: ${t.restores.killed} killed and rerun, ${t.restores.completed} completed`);
    for (const f of t.final) lines.push(`- ${f}`);
    lines.push(`- **failures: ${t.failures.length}**`);
    for (const f of t.failures) lines.push(`  - ${f.replaceAll("\n", " ⏎ ")}`);
    lines.push("");
  }
  return lines.join("\n");
}

mkdirSync(root, { recursive: true });
const tree = prepareTree();
const tallies: Tally[] = [];
for (const kind of values.targets!.split(",")) {
  const target = kind === "s3" ? await s3Target(root) : localTarget(join(root, "repos"));
  try {
    console.log(`== ${target.label}`);
    tallies.push(await loop(target, tree));
  } finally {
    target.stop();
  }
}
const text = report(tallies);
const out =
  values.out ??
  join(import.meta.dirname, "results", `chaos-kill-${new Date().toISOString().slice(0, 10)}.md`);
writeFileSync(out, text);
console.log(text);
