/**
 * Browse benchmarks (issue 10): `bun bench/browse.ts [--dir DIR] [--files N] [--snapshots N]
 * [--file-mib N] [--parts list,versions,download] [--out FILE]`. Not a test: prints numbers only.
 *
 * - list: a real backup of one directory of N (100,000) small files on a local folder; then, with
 *   the repository opened afresh: the first page (tree loaded and decoded), the next page, the last
 *   page by cursor, every page of the directory, and a substring search through the snapshot.
 * - versions: a repository of N (1,000) snapshots of a home folder (20 folders × 50 files; each
 *   snapshot rewrites one file somewhere and, every tenth, the file asked about), built through
 *   the repository API; then listSnapshots and fileVersions of one file, cold and warm.
 * - download: a real backup of one random file of --file-mib (2,048) MiB; then downloadFile
 *   streamed to /dev/null, RSS and event-loop lag sampled every 20 ms, time to first byte, MB/s.
 * - tar: the list part's 100,000-file folder downloaded as a tar, measured the same way.
 *
 * Each part runs in its own process (so its RSS is its own); built repositories are kept in --dir
 * and reused. Results go to bench/results/browse-YYYY-MM-DD.md.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  closeSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  openSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { backup } from "../src/engine/backup.ts";
import { downloadFile, downloadTar } from "../src/engine/browse/download.ts";
import { searchSnapshot } from "../src/engine/browse/search.ts";
import { listTreePage } from "../src/engine/browse/tree-page.ts";
import { TreeCache } from "../src/engine/browse/trees.ts";
import { fileVersions } from "../src/engine/browse/versions.ts";
import { initRepository, openRepository } from "../src/engine/repository/open.ts";
import type { RepositoryImpl } from "../src/engine/repository/repository.ts";
import type { Repository, Snapshot, TreeNode } from "../src/engine/types.ts";
import { createLocalBackend } from "../src/storage/local.ts";
import { snapshotInput } from "../test/engine/repository/fixtures.ts";

const { values } = parseArgs({
  options: {
    dir: { type: "string", default: "/tmp/backapp-bench-browse" },
    files: { type: "string", default: "100000" },
    snapshots: { type: "string", default: "1000" },
    "file-mib": { type: "string", default: "2048" },
    parts: { type: "string", default: "list,versions,download,tar" },
    part: { type: "string" },
    out: { type: "string" },
  },
});
const root = resolve(values.dir!);
const PW = "bench passphrase";
const MiB = 1024 * 1024;
/** A stopwatch: wall time and this process's CPU time (all threads), so a loaded machine shows. */
const start = () => ({ wall: performance.now(), cpu: process.cpuUsage() });
const round = (n: number) => Math.round(n * 10) / 10;
const wallMs = (t: ReturnType<typeof start>) => round(performance.now() - t.wall);
const took = (t: ReturnType<typeof start>) => {
  const cpu = process.cpuUsage(t.cpu);
  return `${wallMs(t)} ms (CPU ${round((cpu.user + cpu.system) / 1000)} ms)`;
};
const mib = (n: number) => Math.round((n / MiB) * 10) / 10;

async function openAt(dir: string, create: boolean): Promise<RepositoryImpl> {
  const backend = createLocalBackend(dir);
  if (create) {
    mkdirSync(dir, { recursive: true });
    return initRepository(backend, PW, { scrypt: { N: 1024, r: 8, p: 1 } });
  }
  return openRepository(backend, PW, { lock: "none" });
}

/** Builds (once) and measures the 100,000-entry directory. */
async function partList(): Promise<Record<string, unknown>> {
  const n = Number(values.files);
  const base = join(root, `list-${n}`);
  const src = join(base, "src", "big-folder");
  if (!existsSync(join(base, "done"))) {
    mkdirSync(src, { recursive: true });
    for (let i = 0; i < n; i++)
      writeFileSync(join(src, `file-${String(i).padStart(6, "0")}-${i % 97}.txt`), `${i}\n`);
    const repo = await openAt(join(base, "repo"), true);
    const t0 = start();
    await backup(repo, [src]);
    await repo.close();
    writeFileSync(join(base, "done"), took(t0));
  }
  const repo = await openAt(join(base, "repo"), false);
  const snapshot = await repo.findSnapshot("latest");
  const trees = new TreeCache(repo);
  let t0 = start();
  const first = await listTreePage(trees, snapshot, src, { limit: 200 });
  const firstMs = took(t0);
  t0 = start();
  await listTreePage(trees, snapshot, src, { limit: 200, cursor: first.nextCursor });
  const nextMs = took(t0);
  t0 = start();
  let cursor: string | null = null;
  let pages = 0;
  let entries = 0;
  let lastCursor: string | null = null;
  do {
    const page = await listTreePage(trees, snapshot, src, { limit: 200, cursor });
    pages++;
    entries += page.items.length;
    lastCursor = cursor;
    cursor = page.nextCursor;
  } while (cursor);
  const allMs = took(t0);
  t0 = start();
  await listTreePage(trees, snapshot, src, { limit: 200, cursor: lastCursor });
  const lastMs = took(t0);
  const cold = new TreeCache(repo);
  t0 = start();
  const found = await searchSnapshot(cold, snapshot, "-42.TXT", { limit: 1000, maxScanned: 1e9 });
  const searchMs = took(t0);
  t0 = start();
  const firstHits = await searchSnapshot(cold, snapshot, "file-0001", { limit: 50 });
  const searchFirstMs = took(t0);
  await repo.close();
  return {
    entries,
    pages,
    "first page (cold: load + decode the tree)": `${firstMs}`,
    "next page": `${nextMs}`,
    "last page by cursor": `${lastMs}`,
    "all pages of 200": `${allMs}`,
    [`search "-42.TXT" through all ${n} entries (${found.items.length} hits, cold)`]: `${searchMs}`,
    [`search "file-0001", first page of 50 (${firstHits.items.length} hits, warm)`]: `${searchFirstMs}`,
    rss: `${mib(process.memoryUsage().rss)} MiB`,
  };
}

function node(name: string, type: "file" | "dir", extra: Partial<TreeNode>): TreeNode {
  const t = "1700000000000000000";
  return {
    name,
    type,
    mode: type === "dir" ? 0o755 : 0o644,
    uid: 1000,
    gid: 1000,
    mtime: t,
    ctime: t,
    inode: 0,
    device: 0,
    size: 0,
    ...extra,
  };
}

/** 20 folders × 50 files; each step changes one file's content; returns snapshot count built. */
async function buildVersions(repo: Repository, count: number): Promise<void> {
  const blobs: string[] = [];
  const blob = async (i: number) => {
    const bytes = new TextEncoder().encode(`content ${i}`);
    const id = repo.blobId(bytes);
    await repo.saveBlob("data", id, bytes);
    blobs.push(id);
    return id;
  };
  const folders: string[][] = [];
  for (let d = 0; d < 20; d++)
    folders.push(await Promise.all(Array.from({ length: 50 }, (_, f) => blob(d * 50 + f))));
  const dirTree = (d: number) =>
    repo.saveTree({
      nodes: folders[d]!.map((id, f) => node(`file-${f}.txt`, "file", { size: 10, content: [id] })),
    });
  const dirIds = await Promise.all(folders.map((_, d) => dirTree(d)));
  for (let s = 0; s < count; s++) {
    const d = s % 10 === 0 ? 0 : (s * 7) % 20;
    const f = s % 10 === 0 ? 0 : (s * 13) % 50;
    folders[d]![f] = await blob(100_000 + s);
    dirIds[d] = await dirTree(d);
    const user = await repo.saveTree({
      nodes: dirIds.map((id, i) => node(`folder-${String(i).padStart(2, "0")}`, "dir", { subtree: id })),
    });
    const home = await repo.saveTree({ nodes: [node("user", "dir", { subtree: user })] });
    const top = await repo.saveTree({ nodes: [node("home", "dir", { subtree: home })] });
    await repo.flush();
    const time = new Date(Date.UTC(2024, 0, 1) + s * 3_600_000).toISOString();
    await repo.saveSnapshot({ ...snapshotInput(top, time), paths: ["/home/user"] });
  }
}

async function partVersions(): Promise<Record<string, unknown>> {
  const count = Number(values.snapshots);
  const base = join(root, `versions-${count}`);
  if (!existsSync(join(base, "done"))) {
    const repo = await openAt(join(base, "repo"), true);
    await buildVersions(repo, count);
    await repo.close();
    writeFileSync(join(base, "done"), "");
  }
  const repo = await openAt(join(base, "repo"), false);
  let t0 = start();
  const snapshots: Snapshot[] = await repo.listSnapshots();
  const listMs = took(t0);
  const trees = new TreeCache(repo);
  t0 = start();
  const v = await fileVersions(trees, snapshots, "/home/user/folder-00/file-0.txt");
  const coldMs = took(t0);
  t0 = start();
  await fileVersions(trees, snapshots, "/home/user/folder-00/file-0.txt");
  const warmMs = took(t0);
  t0 = start();
  const other = await fileVersions(trees, snapshots, "/home/user/folder-07/file-21.txt");
  const otherMs = took(t0);
  await repo.close();
  return {
    snapshots: snapshots.length,
    "listSnapshots (reads every snapshot object)": `${listMs}`,
    [`fileVersions, cold cache (${v.length} versions, ${v.filter((x) => x.contentChanged).length} changes)`]: `${coldMs}`,
    "fileVersions again, warm cache": `${warmMs}`,
    [`fileVersions of another file, same cache (${other.filter((x) => x.contentChanged).length} changes)`]: `${otherMs}`,
    "trees cached": trees.size,
    rss: `${mib(process.memoryUsage().rss)} MiB`,
  };
}

async function partDownload(): Promise<Record<string, unknown>> {
  const size = Number(values["file-mib"]) * MiB;
  const base = join(root, `download-${values["file-mib"]}`);
  const src = join(base, "src");
  if (!existsSync(join(base, "done"))) {
    mkdirSync(src, { recursive: true });
    const fd = openSync(join(src, "big.bin"), "w");
    for (let done = 0; done < size; done += 16 * MiB)
      writeSync(fd, randomBytes(Math.min(16 * MiB, size - done)));
    closeSync(fd);
    const repo = await openAt(join(base, "repo"), true);
    await backup(repo, [src]);
    await repo.close();
    writeFileSync(join(base, "done"), "");
  }
  const repo = await openAt(join(base, "repo"), false);
  const snapshot = await repo.findSnapshot("latest");
  const r = await streamToNull(() => downloadFile(repo, new TreeCache(repo), snapshot, join(src, "big.bin")));
  await repo.close();
  return { "file size": `${mib(size)} MiB (Content-Length known before the first byte)`, ...r };
}

/**
 * Opens a download and streams it to /dev/null, sampling RSS and event-loop lag every 20 ms (the
 * lag is how late a timer fires: what a page served by this thread would wait).
 */
async function streamToNull(
  open: () => Promise<{ stream: ReadableStream<Uint8Array>; size: number | null }>,
): Promise<Record<string, unknown>> {
  Bun.gc(true);
  const before = process.memoryUsage().rss;
  let peak = before;
  let maxLag = 0;
  let expected = performance.now() + 20;
  const timer = setInterval(() => {
    const now = performance.now();
    maxLag = Math.max(maxLag, now - expected);
    expected = now + 20;
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  const t0 = start();
  const d = await open();
  const out = createWriteStream("/dev/null");
  let firstByte = "";
  let bytes = 0;
  const reader = d.stream.getReader();
  for (;;) {
    const r = await reader.read();
    if (r.done) break;
    if (bytes === 0) firstByte = took(t0);
    bytes += r.value.length;
    if (!out.write(r.value)) await new Promise((ok) => out.once("drain", ok));
  }
  const total = took(t0);
  const seconds = wallMs(t0) / 1000;
  clearInterval(timer);
  await new Promise((ok) => out.end(ok));
  return {
    "bytes streamed": d.size === null || bytes === d.size ? `${mib(bytes)} MiB` : `${bytes} of ${d.size}`,
    "time to first byte": firstByte,
    "total time": `${total}: ${Math.round(bytes / MiB / seconds)} MiB/s`,
    "RSS before streaming": `${mib(before)} MiB`,
    "peak RSS while streaming": `${mib(peak)} MiB`,
    "longest event-loop stall (timer lateness)": `${round(maxLag)} ms`,
  };
}

/** A tar of the 100,000-file folder of the list part (built there). */
async function partTar(): Promise<Record<string, unknown>> {
  const base = join(root, `list-${Number(values.files)}`);
  if (!existsSync(join(base, "done"))) throw new Error("run the list part first");
  const repo = await openAt(join(base, "repo"), false);
  const snapshot = await repo.findSnapshot("latest");
  const trees = new TreeCache(repo);
  const r = await streamToNull(() => downloadTar(repo, trees, snapshot, [join(base, "src", "big-folder")]));
  await repo.close();
  return { files: Number(values.files), ...r };
}

const PARTS: Record<string, () => Promise<Record<string, unknown>>> = {
  list: partList,
  versions: partVersions,
  download: partDownload,
  tar: partTar,
};

if (values.part) {
  mkdirSync(root, { recursive: true });
  console.log(JSON.stringify(await PARTS[values.part]!()));
  process.exit(0);
}

const bun = resolve(import.meta.dirname, "../node_modules/.bin/bun");
const lines = [
  `# browse benchmark ${new Date().toISOString().slice(0, 10)}`,
  "",
  `load: ${(await Bun.file("/proc/loadavg").text()).trim()}`,
  "",
];
for (const part of values.parts!.split(",")) {
  const args = [
    import.meta.filename,
    "--part",
    part,
    "--dir",
    root,
    "--files",
    values.files!,
    "--snapshots",
    values.snapshots!,
    "--file-mib",
    values["file-mib"]!,
  ];
  const r = spawnSync(bun, args, { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  const last = r.stdout.trim().split("\n").pop() ?? "{}";
  const result = JSON.parse(last) as Record<string, unknown>;
  lines.push(`## ${part}`, "", "| measure | result |", "| --- | --- |");
  for (const [k, v] of Object.entries(result)) lines.push(`| ${k} | ${v} |`);
  lines.push("");
  console.log(lines.slice(-Object.keys(result).length - 5).join("\n"));
}
const out =
  values.out ?? resolve(import.meta.dirname, `results/browse-${new Date().toISOString().slice(0, 10)}.md`);
writeFileSync(out, `${lines.join("\n")}\n`);
console.log(`written ${out}`);
