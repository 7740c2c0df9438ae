/**
 * Copying snapshots between repositories (`copy --from-repo`), the base of 3-2-1 copies: blobs are
 * read from the source (each authenticated) and stored in the destination under the destination's
 * own keys, so the two may have different passphrases and master keys. Blob ids are keyed hashes,
 * so every blob gets its destination id and trees are rewritten bottom-up with the new ids; no
 * file is read again and blobs the destination already holds are not stored twice. Write order is
 * the usual one (packs, index, then each snapshot), so an interrupted copy leaves no snapshot
 * pointing at missing data.
 */
import { throwIfAborted } from "../util/errors.ts";
import { mapLimit } from "./repository/map-limit.ts";
import type { BlobId, Repository, Snapshot, TreeNode } from "./types.ts";

export interface CopyOptions {
  signal?: AbortSignal;
  /**
   * Called per snapshot: copied (with its new snapshot and the blobs it added to the destination)
   * or skipped (already in the destination; blobs 0).
   */
  onSnapshot?: (source: Snapshot, copy: Snapshot | null, blobs: number) => void;
}

export interface CopyResult {
  copied: number;
  skipped: number;
  blobsCopied: number;
}

/** Same time, host, paths and tags: the destination already holds a copy of this snapshot. */
function sameSnapshot(a: Snapshot, b: Snapshot): boolean {
  const key = (s: Snapshot) => JSON.stringify([s.time, s.hostname, [...s.paths].sort(), [...s.tags].sort()]);
  return key(a) === key(b);
}

class Copier {
  /** Source blob id → destination blob id, for trees and data. */
  private readonly mapped = new Map<BlobId, BlobId>();
  blobsCopied = 0;

  constructor(
    private readonly src: Repository,
    private readonly dst: Repository,
    private readonly signal?: AbortSignal,
  ) {}

  private async data(id: BlobId): Promise<BlobId> {
    const known = this.mapped.get(id);
    if (known) return known;
    const plain = await this.src.loadBlob("data", id, this.signal);
    const to = this.dst.blobId(plain);
    if (!this.dst.hasBlob("data", to)) {
      await this.dst.saveBlob("data", to, plain, this.signal);
      this.blobsCopied++;
    }
    this.mapped.set(id, to);
    return to;
  }

  /** Copies a tree and everything below it; returns its id in the destination. */
  async tree(id: BlobId): Promise<BlobId> {
    const known = this.mapped.get(id);
    if (known) return known;
    throwIfAborted(this.signal);
    const nodes: TreeNode[] = [];
    for (const node of (await this.src.loadTree(id, this.signal)).nodes) {
      const copy: TreeNode = { ...node };
      if (node.subtree) copy.subtree = await this.tree(node.subtree);
      if (node.content) copy.content = await mapLimit(node.content, 4, (b) => this.data(b));
      nodes.push(copy);
    }
    const to = await this.dst.saveTree({ nodes }, this.signal);
    this.mapped.set(id, to);
    this.blobsCopied++;
    return to;
  }
}

export async function copySnapshots(
  src: Repository,
  dst: Repository,
  snapshots: readonly Snapshot[],
  existing: readonly Snapshot[],
  options: CopyOptions = {},
): Promise<CopyResult> {
  const copier = new Copier(src, dst, options.signal);
  const result: CopyResult = { copied: 0, skipped: 0, blobsCopied: 0 };
  for (const s of snapshots) {
    throwIfAborted(options.signal);
    if (existing.some((e) => sameSnapshot(e, s))) {
      result.skipped++;
      options.onSnapshot?.(s, null, 0);
      continue;
    }
    const before = copier.blobsCopied;
    const tree = await copier.tree(s.tree);
    await dst.flush(options.signal);
    const { id: _id, ...input } = s;
    // The parent names a snapshot of the source repository: meaningless here.
    const copy = await dst.saveSnapshot({ ...input, tree, parent: null }, options.signal);
    result.copied++;
    options.onSnapshot?.(s, copy, copier.blobsCopied - before);
  }
  result.blobsCopied = copier.blobsCopied;
  return result;
}
