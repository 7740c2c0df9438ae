/**
 * Scale: a repository of N blobs without N × real data. `bun bench/scale.ts [--blobs 5000000]
 * [--dir D] [--binary PATH] [--reuse] [--out FILE]`. Not a test: prints numbers only.
 *
 * Builds, through the repository's own API (saveBlob / saveTree / saveSnapshot, so packs, index
 * files, trees and snapshots are exactly the product's), a local-folder repository of N tiny data
 * blobs (a counter's text, 7–12 bytes, unique) packed up to 50,000 a pack. The blobs fall into 20
 * segments; each segment is one directory tree (folders of 100 files of 20 blobs). Snapshot k
 * (k = 0..9) holds segments k..k+10, so unchanged segments share their trees, as unchanged folders
 * do in real repositories. Then, each as its own process under GNU `time -v`: `snapshots` (open),
 * `backup` of a small folder, `forget --keep-last 5 --prune` (drops segments 0–4, a quarter of the
 * blobs) and `check`. Prints a table with per-blob costs; writes bench/results/scale-DATE.md.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { initRepository } from "../src/engine/repository/open.ts";
import type { RepositoryImpl } from "../src/engine/repository/repository.ts";
import type { BlobId, TreeNode } from "../src/engine/types.ts";
import { createLocalBackend } from "../src/storage/local.ts";
import { type Measured, measure } from "./lib/measure.ts";

const { values } = parseArgs({
  options: {
    blobs: { type: "string", default: "500000" },
    dir: { type: "string", default: "/tmp/backapp-bench-scale" },
    binary: { type: "string" },
    /** Another checkout (e.g. `git archive` of an older commit) whose src/main.ts to measure. */
    source: { type: "string" },
    reuse: { type: "boolean" },
    out: { type: "string" },
  },
});
const blobs = Number(values.blobs);
const root = resolve(values.dir!, String(blobs));
const builtDir = join(root, "built-repo");
/** The measured commands change the repository: they run on a fresh copy of the built one. */
const repoDir = join(root, "repo");
const srcDir = join(root, "small");
const password = "bench passphrase";
const SEGMENTS = 20;
const SNAPSHOTS = 10;
const PER_SNAPSHOT = 11;
const BLOBS_PER_FILE = 20;
const FILES_PER_DIR = 100;
const bun = resolve(import.meta.dirname, "../node_modules/.bin/bun");
const source = resolve(values.source ?? resolve(import.meta.dirname, ".."));
const cli = values.binary ? [resolve(values.binary)] : [bun, join(source, "src/main.ts")];
const T0 = Date.UTC(2026, 0, 1, 3);
const enc = new TextEncoder();

function node(name: string, extra: Partial<TreeNode>): TreeNode {
  const t = `${BigInt(T0) * 1_000_000n}`;
  return {
    name,
    type: "file",
    mode: 0o644,
    uid: 0,
    gid: 0,
    mtime: t,
    ctime: t,
    inode: 0,
    device: 0,
    size: 0,
    ...extra,
  };
}

/** Saves data blobs [from, to) as files of 20 blobs, folders of 100 files; returns the segment's tree. */
async function segment(repo: RepositoryImpl, from: number, to: number): Promise<BlobId> {
  const dirs: TreeNode[] = [];
  const perDir = BLOBS_PER_FILE * FILES_PER_DIR;
  for (let d = from; d < to; d += perDir) {
    const files: TreeNode[] = [];
    for (let f = d; f < Math.min(d + perDir, to); f += BLOBS_PER_FILE) {
      const content: BlobId[] = [];
      const saves: Promise<unknown>[] = [];
      let size = 0;
      for (let i = f; i < Math.min(f + BLOBS_PER_FILE, to); i++) {
        const bytes = enc.encode(`blob ${i}\n`);
        const id = repo.blobId(bytes);
        content.push(id);
        size += bytes.byteLength;
        saves.push(repo.saveBlob("data", id, bytes));
      }
      await Promise.all(saves);
      files.push(node(`f${f}`, { content, size, inode: f + 1 }));
    }
    dirs.push(node(`d${d}`, { type: "dir", mode: 0o755, subtree: await repo.saveTree({ nodes: files }) }));
  }
  return repo.saveTree({ nodes: dirs });
}

async function build(): Promise<void> {
  rmSync(builtDir, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  const repo = await initRepository(createLocalBackend(builtDir), password, { lock: "none" });
  const started = performance.now();
  try {
    const trees: BlobId[] = [];
    for (let g = 0; g < SEGMENTS; g++) {
      const from = Math.floor((g * blobs) / SEGMENTS);
      trees.push(await segment(repo, from, Math.floor(((g + 1) * blobs) / SEGMENTS)));
      process.stdout.write(
        `segment ${g + 1}/${SEGMENTS} (${((performance.now() - started) / 1000).toFixed(0)} s)\n`,
      );
    }
    await repo.flush();
    for (let k = 0; k < SNAPSHOTS; k++) {
      const nodes = trees
        .slice(k, k + PER_SNAPSHOT)
        .map((subtree, i) =>
          node(`seg${String(k + i).padStart(2, "0")}`, { type: "dir", mode: 0o755, subtree }),
        );
      const tree = await repo.saveTree({ nodes });
      await repo.flush();
      await repo.saveSnapshot({
        time: new Date(T0 + k * 86_400_000).toISOString(),
        hostname: "bench",
        username: "bench",
        paths: ["/synthetic"],
        tags: [],
        parent: null,
        tree,
        program_version: "bench/scale.ts",
        summary: {
          files_new: 0,
          files_changed: 0,
          files_unmodified: 0,
          dirs: 0,
          bytes_processed: 0,
          bytes_added: 0,
          bytes_stored: 0,
          duration_ms: 0,
          errors: [],
        },
      });
    }
  } finally {
    await repo.close();
  }
  writeFileSync(join(root, "built"), `${blobs}\n`);
  console.log(`built ${blobs} blobs in ${((performance.now() - started) / 1000).toFixed(0)} s`);
}

/** A small folder to back up on top: 100 files, one of them new each run. */
function smallChange(): void {
  mkdirSync(srcDir, { recursive: true });
  for (let i = 0; i < 100; i++) writeFileSync(join(srcDir, `file-${i}.txt`), `small file ${i}\n`.repeat(50));
  writeFileSync(join(srcDir, "changed.txt"), `changed at ${new Date().toISOString()}\n`);
}

function du(path: string): string {
  return Bun.spawnSync(["du", "-sh", path]).stdout.toString().split("\t")[0] ?? "?";
}

const steps: [string, string[]][] = [
  ["open (`snapshots`)", ["snapshots"]],
  ["backup of a small change (101 files)", ["backup", srcDir]],
  ["`forget --keep-last 5 --prune`", ["forget", "--keep-last", "5", "--prune"]],
  ["`check`", ["check"]],
];

if (!values.reuse || !existsSync(join(root, "built"))) await build();
rmSync(repoDir, { recursive: true, force: true });
Bun.spawnSync(["cp", "-a", builtDir, repoDir]);
const sizeBefore = du(repoDir);
smallChange();
const env = { BACKAPP_REPO: repoDir, BACKAPP_PASSWORD: password };
const load = [loadavg()[0]!.toFixed(1)];
const rows: string[] = [];
for (const [label, args] of steps) {
  const m: Measured = measure([...cli, ...args], env, "hot", [], join(root, "time-report.txt"));
  const cpu = m.userSeconds + m.systemSeconds;
  const rssMiB = m.maxRssKiB / 1024;
  rows.push(
    `| ${label} | ${m.seconds.toFixed(1)} | ${cpu.toFixed(1)} | ${rssMiB.toFixed(0)} | ${((cpu * 1e6) / blobs).toFixed(2)} | ${((m.maxRssKiB * 1024) / blobs).toFixed(1)} |`,
  );
  console.log(rows.at(-1));
  if (label.startsWith("`forget")) console.log(m.stdout.split("\n").slice(-8).join("\n"));
}
load.push(loadavg()[0]!.toFixed(1));
const version = readFileSync(resolve(import.meta.dirname, "../node_modules/bun/package.json"), "utf8");
const params = [
  `${blobs.toLocaleString("en")} data blobs (7–12 B each), ${SEGMENTS} segments, ${SNAPSHOTS} snapshots of ${PER_SNAPSHOT} segments; repository ${sizeBefore} on a local folder`,
  `CLI: ${values.binary ? `compiled binary ${values.binary}` : `bun ${join(source, "src/main.ts")} (from source)`}; Bun ${JSON.parse(version).version}; load average ${load.join(" → ")}`,
];
const table = [
  "| command | wall s | CPU s | peak RSS MiB | CPU µs/blob | RSS bytes/blob |",
  "|---|---:|---:|---:|---:|---:|",
  ...rows,
].join("\n");
console.log(`\n${params.join("\n")}\n\n${table}`);
const day = new Date().toISOString().slice(0, 10);
const outFile = resolve(import.meta.dirname, "results", values.out ?? `scale-${day}-${blobs}.md`);
mkdirSync(resolve(import.meta.dirname, "results"), { recursive: true });
writeFileSync(outFile, `# scale benchmark ${day}\n\n${params.join("\n\n")}\n\n${table}\n`);
console.log(`\nwritten to ${outFile}`);
