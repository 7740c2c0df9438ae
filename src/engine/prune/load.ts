/**
 * What prune reads before deciding anything: every index file with every entry of every pack
 * (duplicates included, which the repository's in-memory index drops), the packs actually
 * stored, and the blobs reachable from snapshots. Entries are kept as their 46-byte encoding, so
 * memory stays near 50 bytes per blob plus the used-blob set.
 */
import type { Backend } from "../../storage/backend.ts";
import { IntegrityError, throwIfAborted, wrapError } from "../../util/errors.ts";
import { sha256Hex } from "../crypto/aead.ts";
import type { MasterKeys } from "../crypto/keys.ts";
import { BlobSet } from "../repository/blob-set.ts";
import { type EncodedIndexPack, visitIndex } from "../repository/index-file.ts";
import { ENTRY_BYTES, type PackEntry, readEntry } from "../repository/pack-format.ts";
import type { RepositoryImpl } from "../repository/repository.ts";
import type { BlobId, Snapshot } from "../types.ts";

/** One indexed pack with all its entries, encoded. */
export interface PackRecord {
  id: string;
  size: number;
  salt: Uint8Array;
  count: number;
  raw: Uint8Array;
}

export function* packEntries(p: PackRecord): IterableIterator<PackEntry> {
  const view = new DataView(p.raw.buffer, p.raw.byteOffset, p.raw.byteLength);
  for (let i = 0; i < p.count; i++) yield readEntry(view, p.raw, i * ENTRY_BYTES);
}

export interface LoadedIndex {
  /** Index file ids ("index/<id>"). */
  files: string[];
  /** Packs by id; a pack named by several index files appears once. */
  packs: Map<string, PackRecord>;
}

/** Reads every index file. IntegrityError when one is damaged: prune must not guess. */
export async function loadAllIndexFiles(
  backend: Backend,
  keys: MasterKeys,
  signal?: AbortSignal,
): Promise<LoadedIndex> {
  const out: LoadedIndex = { files: [], packs: new Map() };
  const names: string[] = [];
  for await (const o of backend.list("index/", { signal })) names.push(o.name);
  for (const name of names.sort()) {
    throwIfAborted(signal);
    const id = name.slice("index/".length);
    let entries = 0;
    try {
      const bytes = await backend.get(name, { signal });
      if (sha256Hex(bytes) !== id) throw new IntegrityError("content does not match its name");
      const decoded: EncodedIndexPack[] = [];
      visitIndex(bytes, keys, (p) => decoded.push(p));
      for (const p of decoded) {
        entries += p.count;
        if (out.packs.has(p.id)) continue;
        // A copy: the view would keep the whole decoded file alive.
        out.packs.set(p.id, { id: p.id, size: p.size, salt: p.salt, count: p.count, raw: p.raw.slice() });
      }
    } catch (e) {
      throw wrapError(`prune: index file ${id.slice(0, 12)} cannot be read (run check)`, e);
    }
    out.files.push(id);
    collectGarbage(entries); // the decoded entries of this file
  }
  return out;
}

/** Below this many index entries a phase leaves too little garbage to be worth a full collection. */
const COLLECT_FROM_ENTRIES = 50_000;

/**
 * A full collection where the runtime offers one (Bun), after a prune phase that went over
 * `entries` index entries: each leaves an object and a hex string per entry behind, which JSC
 * collects lazily, so peak memory grew with the garbage rather than with what prune holds (500 000
 * blobs: 536 → 390 MiB peak RSS). Skipped for small repositories, where it would only cost time.
 */
export function collectGarbage(entries = Number.POSITIVE_INFINITY): void {
  if (entries < COLLECT_FROM_ENTRIES) return;
  (globalThis as { Bun?: { gc(full: boolean): void } }).Bun?.gc(true);
}

/** Stored packs: object name → size. */
export async function listStoredPacks(backend: Backend, signal?: AbortSignal): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for await (const o of backend.list("data/", { signal })) out.set(o.name, o.size);
  return out;
}

/**
 * Every blob reachable from `snapshots`: their trees (walked) and the data blobs files list.
 * A tree that cannot be loaded aborts (its blobs would otherwise look unused).
 */
export async function markUsed(
  repo: RepositoryImpl,
  snapshots: readonly Snapshot[],
  signal?: AbortSignal,
): Promise<BlobSet> {
  const used = new BlobSet(repo.index);
  for (const s of snapshots) {
    const stack: BlobId[] = [s.tree];
    while (stack.length > 0) {
      throwIfAborted(signal);
      const id = stack.pop()!;
      if (!used.add("tree", id)) continue;
      let tree: Awaited<ReturnType<RepositoryImpl["loadTree"]>>;
      try {
        tree = await repo.loadTree(id, signal);
      } catch (e) {
        throw wrapError(`prune: tree ${id.slice(0, 12)} of snapshot ${s.id.slice(0, 12)} (run check)`, e);
      }
      for (const node of tree.nodes) {
        if (node.subtree) stack.push(node.subtree);
        for (const blob of node.content ?? []) used.add("data", blob);
      }
    }
  }
  return used;
}
