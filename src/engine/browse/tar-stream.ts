/**
 * The entries of a tar download, in archive order. A folder of many small files is the slow case
 * on a remote store: one GET per file, one after another. So the walk runs a little ahead of the
 * archive and small files ahead of the one being written are already loading — bounded by entries
 * and bytes, so memory stays flat. Large files stream blob by blob when their turn comes.
 */
import { nameToBytes } from "../scan/names.ts";
import type { Repository, TreeNode } from "../types.ts";
import { checkSize, fileChunks } from "./stream.ts";
import { padding, tarEnd, tarHeader } from "./tar.ts";
import type { Resolved, TreeSource } from "./trees.ts";
import { walkFrames } from "./walk.ts";

type BlobLoader = Pick<Repository, "loadBlob">;

/** Files up to this size are loaded ahead whole. */
const SMALL_FILE = 1024 * 1024;
/** Entries the walk may run ahead of the archive (also bounds the GETs in flight). */
const AHEAD_ENTRIES = 32;
/** Bytes of small files loading or loaded ahead. */
const AHEAD_BYTES = 16 * 1024 * 1024;

/** Drops selections inside another one and duplicates (each entry goes into the archive once). */
export function outermost(selected: Resolved[]): Resolved[] {
  const key = (s: Resolved) => `${s.parts.join("/")}/`;
  const sorted = [...selected].sort((a, b) => a.parts.length - b.parts.length);
  const kept: Resolved[] = [];
  for (const s of sorted) if (!kept.some((k) => key(s).startsWith(key(k)))) kept.push(s);
  return kept.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** Components shared by the parents of every selection: archive names are relative to it. */
function commonParent(selected: Resolved[]): number {
  let n = Math.min(...selected.map((s) => Math.max(0, s.parts.length - 1)));
  for (const s of selected) {
    for (let i = 0; i < n; i++) if (s.parts[i] !== selected[0]!.parts[i]) n = i;
  }
  return n;
}

function header(node: TreeNode, path: string): Buffer {
  return tarHeader({
    path: nameToBytes(path),
    type: node.type,
    mode: node.mode,
    uid: node.uid,
    gid: node.gid,
    size: node.type === "file" ? node.size : 0,
    mtime: node.mtime,
    target: node.type === "symlink" ? nameToBytes(node.target ?? "") : undefined,
  });
}

interface Entry {
  node: TreeNode;
  path: string;
}

/** Every node the archive holds, with its archive name, in archive order (reads trees only). */
async function* tarNodes(
  trees: TreeSource,
  selected: Resolved[],
  signal?: AbortSignal,
): AsyncGenerator<Entry> {
  const skip = commonParent(selected);
  for (const s of selected) {
    const base = s.parts.slice(skip).join("/");
    if (s.node) yield { node: s.node, path: base };
    if (s.tree === undefined) continue;
    const root = { nodes: (await trees.loadTree(s.tree, signal)).nodes, next: 0, base };
    for await (const { node, path } of walkFrames(trees, [root], signal)) {
      yield { node, path: path.startsWith("/") ? path.slice(1) : path };
    }
  }
}

/** Entries a bounded distance ahead, small files' blobs already loading. */
class Lookahead {
  private readonly queue: Array<Entry & { blobs?: Promise<Uint8Array>[] }> = [];
  private bytes = 0;
  private done = false;

  constructor(
    private readonly repo: BlobLoader,
    private readonly entries: AsyncGenerator<Entry>,
    private readonly signal: AbortSignal,
  ) {}

  /** The next entry (and its preloaded blobs), or null at the end. */
  async next(): Promise<(Entry & { blobs?: Promise<Uint8Array>[] }) | null> {
    while (!this.done && this.queue.length < AHEAD_ENTRIES && this.bytes < AHEAD_BYTES) {
      const r = await this.entries.next();
      if (r.done) this.done = true;
      else this.queue.push(this.start(r.value));
    }
    const e = this.queue.shift() ?? null;
    if (e?.blobs) this.bytes -= e.node.size;
    return e;
  }

  private start(e: Entry): Entry & { blobs?: Promise<Uint8Array>[] } {
    if (e.node.type !== "file" || e.node.size > SMALL_FILE) return e;
    const blobs = (e.node.content ?? []).map((id) => {
      const p = this.repo.loadBlob("data", id, this.signal);
      p.catch(() => {}); // awaited in turn, or dropped when the download stops
      return p;
    });
    this.bytes += e.node.size;
    return { ...e, blobs };
  }
}

/** Output gathered into pieces of at least MIN_PIECE bytes: a chunk per small file would cost more than the file. */
const MIN_PIECE = 64 * 1024;
const ZEROS = Buffer.alloc(512);

/** The archive's bytes: headers, contents (checked against their sizes), padding, the end. */
export async function* tarEntries(
  repo: BlobLoader,
  trees: TreeSource,
  selected: Resolved[],
  ahead: number,
  signal: AbortSignal,
): AsyncGenerator<Uint8Array> {
  const lookahead = new Lookahead(repo, tarNodes(trees, selected, signal), signal);
  let parts: Uint8Array[] = [];
  let size = 0;
  const add = (b: Uint8Array) => {
    parts.push(b);
    size += b.length;
  };
  const take = () => {
    const piece = Buffer.concat(parts, size);
    parts = [];
    size = 0;
    return piece;
  };
  for (let e = await lookahead.next(); e; e = await lookahead.next()) {
    add(header(e.node, e.path));
    if (e.node.type !== "file") continue;
    if (e.blobs) {
      let total = 0;
      for (const p of e.blobs) {
        const data = await p;
        total += data.length;
        add(data);
      }
      checkSize(e.node, total);
    } else {
      if (size > 0) yield take();
      yield* fileChunks(repo, e.node, ahead, signal);
    }
    add(ZEROS.subarray(0, padding(e.node.size)));
    if (size >= MIN_PIECE) yield take();
  }
  add(tarEnd());
  yield take();
}

/** The archive's exact length, from the trees alone (a second walk; cheap with a TreeCache). */
export async function tarLength(
  trees: TreeSource,
  selected: Resolved[],
  signal?: AbortSignal,
): Promise<number> {
  let total = tarEnd().length;
  for await (const { node, path } of tarNodes(trees, selected, signal)) {
    total += header(node, path).length;
    if (node.type === "file") total += node.size + padding(node.size);
  }
  return total;
}
