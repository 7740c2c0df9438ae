/** Listing a snapshot's contents and finding one path in it. */
import { NotFoundError } from "../util/errors.ts";
import { findChild } from "./browse/trees.ts";
import { walkFrames } from "./browse/walk.ts";
import { splitSnapshotPath } from "./restore/select.ts";
import type { BlobId, Repository, Snapshot, TreeNode } from "./types.ts";

export interface LsEntry {
  /** Absolute path in the snapshot ("/home/me/a.txt"). */
  path: string;
  node: TreeNode;
}

export interface LsOptions {
  /** List everything below (default true); false lists only the direct children of a directory. */
  recursive?: boolean;
  signal?: AbortSignal;
}

/**
 * Finds `path` ("/" or "" for the root) in the snapshot. Returns the node (null for the root), the
 * tree id of the directory it denotes (undefined for files and symlinks) and its path spelled with
 * the stored names ("" for the root). NotFoundError.
 */
export async function findPath(
  repo: Repository,
  snapshot: Snapshot,
  path: string,
  signal?: AbortSignal,
): Promise<{ node: TreeNode | null; tree: BlobId | undefined; path: string }> {
  let node: TreeNode | null = null;
  let tree: BlobId | undefined = snapshot.tree;
  const names: string[] = [];
  for (const part of splitSnapshotPath(path)) {
    if (tree === undefined) throw notFound(snapshot, path);
    const found = findChild((await repo.loadTree(tree, signal)).nodes, part, path);
    if (!found) throw notFound(snapshot, path);
    node = found;
    names.push(found.name);
    tree = found.type === "dir" ? found.subtree : undefined;
  }
  return { node, tree, path: names.length === 0 ? "" : `/${names.join("/")}` };
}

/** Says that paths in a snapshot are absolute (as backed up) and what the snapshot holds. */
function notFound(snapshot: Snapshot, path: string): NotFoundError {
  const roots = snapshot.paths.slice(0, 5).join(", ") + (snapshot.paths.length > 5 ? ", …" : "");
  return new NotFoundError(
    `${path}: not found in snapshot ${snapshot.id.slice(0, 8)} (paths in a snapshot are absolute, as backed up; it holds ${roots})`,
  );
}

/**
 * Yields the entry at `path` (unless it is the root) and then, for a directory, its contents in
 * tree order, depth first. NotFoundError when the path is not in the snapshot.
 */
export async function* ls(
  repo: Repository,
  snapshot: Snapshot,
  path = "/",
  options: LsOptions = {},
): AsyncGenerator<LsEntry> {
  const { node, tree, path: base } = await findPath(repo, snapshot, path, options.signal);
  if (node) yield { path: base, node };
  if (tree !== undefined) yield* walkTree(repo, tree, base, options.recursive ?? true, options.signal);
}

async function* walkTree(
  repo: Repository,
  id: BlobId,
  base: string,
  recursive: boolean,
  signal?: AbortSignal,
): AsyncGenerator<LsEntry> {
  const root = { nodes: (await repo.loadTree(id, signal)).nodes, next: 0, base };
  for await (const { path, node } of walkFrames(repo, [root], signal, recursive)) yield { path, node };
}
