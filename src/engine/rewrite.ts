/**
 * `rewrite --exclude`: removes matching files and folders from existing snapshots. Trees are
 * rewritten bottom-up (unchanged subtrees keep their ids, so only the changed path is stored
 * again), the snapshot is saved anew, and with `forget` the original is removed. Data of removed
 * files stays until `prune` finds it unreferenced. Patterns are matched as for backup
 * (docs/patterns.md) against the absolute snapshot path.
 */
import { throwIfAborted } from "../util/errors.ts";
import type { RepositoryImpl } from "./repository/index.ts";
import { createSelector } from "./restore/select.ts";
import { snapshotTags } from "./snapshot-filter.ts";
import type { BlobId, Snapshot, TreeNode } from "./types.ts";

export interface RewriteOptions {
  excludes: string[];
  /** Remove each original snapshot once its rewrite is saved (default: keep both). */
  forget?: boolean;
  /** Only count what would be removed. */
  dryRun?: boolean;
  signal?: AbortSignal;
  /** Each path removed from a snapshot. */
  onRemove?: (snapshot: Snapshot, path: string) => void;
}

export interface Rewritten {
  old: Snapshot;
  /** The new snapshot; null when nothing matched (or a dry run). */
  now: Snapshot | null;
  removed: number;
}

async function rewriteTree(
  repo: RepositoryImpl,
  id: BlobId,
  comps: string[],
  o: RewriteOptions & { select: ReturnType<typeof createSelector>; removed: (p: string) => void },
): Promise<BlobId> {
  throwIfAborted(o.signal);
  const nodes: TreeNode[] = [];
  let changed = false;
  for (const node of (await repo.loadTree(id, o.signal)).nodes) {
    const path = [...comps, node.name];
    if (o.select(path, node.type === "dir") === "none") {
      o.removed(`/${path.join("/")}`);
      changed = true;
      continue;
    }
    if (node.type === "dir" && node.subtree) {
      const sub = await rewriteTree(repo, node.subtree, path, o);
      if (sub !== node.subtree) changed = true;
      nodes.push({ ...node, subtree: sub });
    } else nodes.push(node);
  }
  if (!changed || o.dryRun) return id;
  return repo.saveTree({ nodes }, o.signal);
}

export async function rewriteSnapshots(
  repo: RepositoryImpl,
  snapshots: readonly Snapshot[],
  o: RewriteOptions,
): Promise<Rewritten[]> {
  const select = createSelector(undefined, o.excludes);
  const out: Rewritten[] = [];
  for (const old of snapshots) {
    let removed = 0;
    const tree = await rewriteTree(repo, old.tree, [], {
      ...o,
      select,
      removed: (p) => {
        removed++;
        o.onRemove?.(old, p);
      },
    });
    if (removed === 0 || o.dryRun) {
      out.push({ old, now: null, removed });
      continue;
    }
    await repo.flush(o.signal);
    const { id: _id, ...input } = old;
    const tags = [...snapshotTags(old.tags).filter((t) => t !== "rewrite"), "rewrite"];
    const now = await repo.saveSnapshot({ ...input, tree, tags }, o.signal);
    if (o.forget && now.id !== old.id) await repo.backend.delete(`snapshots/${old.id}`, { signal: o.signal });
    out.push({ old, now, removed });
  }
  return out;
}
