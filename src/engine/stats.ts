/**
 * stats: sizes of a repository. Logical sizes are what restoring would write (sum of file sizes,
 * per snapshot, summed over snapshots); unique size is the plaintext of every distinct blob the
 * snapshots reference (data and trees); stored size is the bytes of all indexed packs. So
 * dedup ratio = logical (all snapshots) / unique data blob bytes, compression ratio = unique / bytes those blobs
 * take in packs. Subtree sizes are memoised by tree id, so unchanged directories across
 * snapshots are read once.
 */
import { throwIfAborted } from "../util/errors.ts";
import { BlobSet } from "./repository/blob-set.ts";
import type { RepositoryImpl } from "./repository/repository.ts";
import type { BlobId, Snapshot } from "./types.ts";

export interface RepositoryStats {
  snapshots: number;
  /** Logical size (bytes) and file count of the newest snapshot; 0 without snapshots. */
  latest: { id: string | null; size: number; files: number };
  /** Logical bytes and files over all snapshots (each snapshot counted in full). */
  totalSize: number;
  totalFiles: number;
  /** Plaintext bytes of the distinct blobs snapshots reference. */
  uniqueSize: number;
  /** The data blobs' share of uniqueSize (file contents only; the dedup ratio's base). */
  uniqueDataSize: number;
  /** Stored (compressed, encrypted) bytes of those blobs. */
  uniqueStoredSize: number;
  /** Bytes of every indexed pack (including unused blobs prune could reclaim). */
  storedSize: number;
  dedupRatio: number;
  compressionRatio: number;
  packs: number;
  /** Blobs in the index / referenced by snapshots. */
  blobs: number;
  referencedBlobs: number;
}

interface TreeTotals {
  size: number;
  files: number;
}

class Walker {
  readonly seen: BlobSet;
  private readonly memo = new Map<BlobId, TreeTotals>();
  uniqueSize = 0;
  uniqueData = 0;
  uniqueStored = 0;

  constructor(
    private readonly repo: RepositoryImpl,
    private readonly signal?: AbortSignal,
  ) {
    this.seen = new BlobSet(repo.index);
  }

  private count(type: "data" | "tree", id: BlobId): void {
    if (!this.seen.add(type, id)) return;
    const e = this.repo.lookup(type, id);
    if (!e) return;
    this.uniqueSize += e.rawLength;
    if (type === "data") this.uniqueData += e.rawLength;
    this.uniqueStored += e.length;
  }

  async totals(id: BlobId): Promise<TreeTotals> {
    const known = this.memo.get(id);
    if (known) return known;
    throwIfAborted(this.signal);
    this.count("tree", id);
    const out: TreeTotals = { size: 0, files: 0 };
    for (const n of (await this.repo.loadTree(id, this.signal)).nodes) {
      if (n.subtree) {
        const sub = await this.totals(n.subtree);
        out.size += sub.size;
        out.files += sub.files;
      } else if (n.type === "file") {
        out.size += n.size;
        out.files++;
        for (const b of n.content ?? []) this.count("data", b);
      }
    }
    this.memo.set(id, out);
    return out;
  }
}

function ratio(a: number, b: number): number {
  return b > 0 ? a / b : 0;
}

export async function repositoryStats(
  repo: RepositoryImpl,
  options: { signal?: AbortSignal; snapshots?: Snapshot[] } = {},
): Promise<RepositoryStats> {
  const snapshots = options.snapshots ?? (await repo.listSnapshots(options.signal));
  const walker = new Walker(repo, options.signal);
  let totalSize = 0;
  let totalFiles = 0;
  let latest: RepositoryStats["latest"] = { id: null, size: 0, files: 0 };
  for (const s of snapshots) {
    const t = await walker.totals(s.tree);
    totalSize += t.size;
    totalFiles += t.files;
    latest = { id: s.id, size: t.size, files: t.files };
  }
  const packs = repo.index.packs();
  const storedSize = packs.reduce((s, p) => s + p.size, 0);
  return {
    snapshots: snapshots.length,
    latest,
    totalSize,
    totalFiles,
    uniqueSize: walker.uniqueSize,
    uniqueDataSize: walker.uniqueData,
    uniqueStoredSize: walker.uniqueStored,
    storedSize,
    dedupRatio: ratio(totalSize, walker.uniqueData),
    compressionRatio: ratio(walker.uniqueSize, walker.uniqueStored),
    packs: packs.length,
    blobs: repo.index.size,
    referencedBlobs: walker.seen.size,
  };
}
