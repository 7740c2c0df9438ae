/**
 * The parent snapshot's tree, read alongside the walk: each directory frame gets the matching
 * directory of the parent (by name), so unchanged files can reuse their content lists. A parent
 * tree that cannot be loaded only costs re-reading: it never fails the backup.
 */
import { CancelledError } from "../../util/errors.ts";
import type { BlobId, Repository, TreeNode } from "../types.ts";

export type ParentDir = Map<string, TreeNode> | null;

export async function loadParentDir(
  repo: Repository,
  id: BlobId | undefined,
  signal: AbortSignal,
): Promise<ParentDir> {
  if (!id) return null;
  try {
    const tree = await repo.loadTree(id, signal);
    return new Map(tree.nodes.map((n) => [n.name, n]));
  } catch (e) {
    if (e instanceof CancelledError || signal.aborted) throw e;
    return null;
  }
}

/** The parent's subtree id for a child directory named `name`, if it was a directory there. */
export function parentSubtree(dir: ParentDir, name: string): BlobId | undefined {
  const n = dir?.get(name);
  return n?.type === "dir" ? n.subtree : undefined;
}
