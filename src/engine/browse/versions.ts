/**
 * Versions of one file across snapshots. Only trees are read, never file data: a file's content is
 * its list of data blob ids, so two versions hold the same bytes exactly when the lists are equal.
 * Tree ids are content addresses, so with a TreeCache a directory unchanged across a thousand
 * snapshots is loaded and decoded once; only the directories on the path that changed cost a read.
 */
import { ValidationError } from "../../util/errors.ts";
import { mapLimit } from "../repository/map-limit.ts";
import type { BlobId, Snapshot, TreeNode } from "../types.ts";
import { findChild, isoTime, parseSnapshotPath, type TreeSource } from "./trees.ts";

export interface VersionItem {
  snapshotId: string;
  /** The snapshot's time (ISO 8601). */
  time: string;
  size: number;
  /** The file's mtime (ISO 8601, milliseconds). */
  mtime: string;
  /** True when the content differs from the next older version listed (always true for the oldest). */
  contentChanged: boolean;
}

export interface VersionsOptions {
  /** Snapshots resolved at once (overlaps reads on a remote store). Default 8. */
  concurrency?: number;
  signal?: AbortSignal;
}

/** What a version needs of a snapshot (a Snapshot, or a row of the server's snapshot cache). */
export type SnapshotRef = Pick<Snapshot, "id" | "time" | "tree">;

/** Most snapshots one call accepts. */
export const MAX_VERSION_SNAPSHOTS = 100_000;

/** The file node at `parts` in a snapshot, or null when absent or not a regular file. */
async function fileAt(
  trees: TreeSource,
  snapshot: SnapshotRef,
  parts: string[],
  path: string,
  signal?: AbortSignal,
): Promise<TreeNode | null> {
  let tree: BlobId | undefined = snapshot.tree;
  let node: TreeNode | undefined;
  for (const part of parts) {
    if (tree === undefined) return null;
    node = findChild((await trees.loadTree(tree, signal)).nodes, part, path);
    if (!node) return null;
    tree = node.type === "dir" ? node.subtree : undefined;
  }
  return node?.type === "file" ? node : null;
}

function sameContent(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  const x = a ?? [];
  const y = b ?? [];
  return x.length === y.length && x.every((id, i) => id === y[i]);
}

/**
 * The versions of the file at `path` in `snapshots` (those holding a regular file there), newest
 * first. ValidationError for a traversal attempt or the root; NotFound/Integrity errors from
 * loading trees; CancelledError when `signal` fires.
 */
export async function fileVersions(
  trees: TreeSource,
  snapshots: readonly SnapshotRef[],
  path: string,
  options: VersionsOptions = {},
): Promise<VersionItem[]> {
  const parts = parseSnapshotPath(path);
  if (parts.length === 0) throw new ValidationError("path names the root, not a file");
  if (snapshots.length > MAX_VERSION_SNAPSHOTS) throw new ValidationError("too many snapshots");
  const oldestFirst = [...snapshots].sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
  const nodes = await mapLimit(oldestFirst, options.concurrency ?? 8, (s) =>
    fileAt(trees, s, parts, path, options.signal),
  );
  const items: VersionItem[] = [];
  let previous: TreeNode | null = null;
  for (const [i, node] of nodes.entries()) {
    if (!node) continue;
    const s = oldestFirst[i]!;
    items.push({
      snapshotId: s.id,
      time: s.time,
      size: node.size,
      mtime: isoTime(node.mtime),
      contentChanged: previous === null || !sameContent(previous.content, node.content),
    });
    previous = node;
  }
  return items.reverse();
}
