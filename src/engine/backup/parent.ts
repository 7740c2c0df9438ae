/**
 * The parent snapshot's tree, read alongside the walk: each directory frame gets the matching
 * directory of the parent (by name), so unchanged files can reuse their content lists. A parent
 * tree that cannot be loaded only costs re-reading: it never fails the backup.
 *
 * The walk enters one directory after another, and each parent directory is one small read (a GET
 * on S3): loaded one by one they paced an unchanged re-backup on remote storage. So loading a
 * directory also starts loading its subdirectories (a bounded number at once, a bounded number
 * kept), and the walk finds them ready when it gets there.
 */
import { CancelledError } from "../../util/errors.ts";
import type { BlobId, Repository, Tree, TreeNode } from "../types.ts";
import { Limiter } from "./limiter.ts";

export type ParentDir = Map<string, TreeNode> | null;

/**
 * Trees loaded ahead, per repository. Each is taken once; at most MAX_AHEAD are held (a directory
 * gone from the source since the parent leaves its entry behind, so the bound matters).
 */
interface Ahead {
  trees: Map<BlobId, Promise<Tree>>;
  limiter: Limiter;
}

const MAX_AHEAD = 512;
const LOADS_AT_ONCE = 16;
const ahead = new WeakMap<Repository, Ahead>();

function aheadOf(repo: Repository): Ahead {
  let a = ahead.get(repo);
  if (!a) {
    a = { trees: new Map(), limiter: new Limiter(LOADS_AT_ONCE) };
    ahead.set(repo, a);
  }
  return a;
}

function prefetch(repo: Repository, a: Ahead, id: BlobId, signal: AbortSignal): void {
  if (a.trees.has(id) || a.trees.size >= MAX_AHEAD) return;
  const p = a.limiter.acquire().then(async (release) => {
    try {
      return await repo.loadTree(id, signal);
    } finally {
      release();
    }
  });
  p.catch(() => {});
  a.trees.set(id, p);
}

async function load(repo: Repository, id: BlobId, signal: AbortSignal): Promise<Tree> {
  const a = aheadOf(repo);
  const early = a.trees.get(id);
  a.trees.delete(id);
  let tree: Tree | undefined;
  if (early) {
    // A load started for another (since cancelled) run must not cancel this one: load again.
    tree = await early.catch((e: unknown) => {
      if (e instanceof CancelledError && !signal.aborted) return undefined;
      throw e;
    });
  }
  tree ??= await repo.loadTree(id, signal);
  for (const n of tree.nodes) if (n.type === "dir" && n.subtree) prefetch(repo, a, n.subtree, signal);
  return tree;
}

export async function loadParentDir(
  repo: Repository,
  id: BlobId | undefined,
  signal: AbortSignal,
): Promise<ParentDir> {
  if (!id) return null;
  try {
    const tree = await load(repo, id, signal);
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
