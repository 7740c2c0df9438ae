/**
 * Differences between two snapshots, by walking both trees together and skipping subtrees whose
 * ids are equal (identical content and metadata below). Change kinds ignore ctime, inode and
 * device, which change without the user's data changing. Extended attributes count as metadata, as
 * restic's node comparison counts them ("U" in its diff).
 */
import { throwIfAborted } from "../util/errors.ts";
import { compareNames } from "./tree.ts";
import type { BlobId, Repository, Snapshot, TreeNode } from "./types.ts";

export type ChangeKind = "type" | "content" | "target" | "mode" | "owner" | "mtime" | "xattrs";

/** Extended attributes as a comparable string: the order they were listed in does not matter. */
function xattrKey(n: TreeNode): string {
  return (n.xattrs ?? [])
    .map((x) => `${x.name}=${x.value}`)
    .sort()
    .join("\n");
}

export interface DiffEntry {
  path: string;
  kind: "added" | "removed" | "changed";
  /** For "changed": what differs. */
  changes: ChangeKind[];
  before?: TreeNode;
  after?: TreeNode;
}

function changesOf(a: TreeNode, b: TreeNode): ChangeKind[] {
  if (a.type !== b.type) return ["type"];
  const out: ChangeKind[] = [];
  if (a.type === "file" && (a.size !== b.size || (a.content ?? []).join() !== (b.content ?? []).join())) {
    out.push("content");
  }
  if (a.type === "symlink" && a.target !== b.target) out.push("target");
  if (a.mode !== b.mode) out.push("mode");
  if (a.uid !== b.uid || a.gid !== b.gid) out.push("owner");
  if (a.mtime !== b.mtime) out.push("mtime");
  if (xattrKey(a) !== xattrKey(b)) out.push("xattrs");
  return out;
}

/** Yields every difference from snapshot `a` to snapshot `b`, in path order. */
export async function* diff(
  repo: Repository,
  a: Snapshot,
  b: Snapshot,
  signal?: AbortSignal,
): AsyncGenerator<DiffEntry> {
  yield* diffTrees(repo, a.tree, b.tree, "", signal);
}

async function* diffTrees(
  repo: Repository,
  a: BlobId | undefined,
  b: BlobId | undefined,
  base: string,
  signal?: AbortSignal,
): AsyncGenerator<DiffEntry> {
  if (a === b) return;
  const left = a ? (await repo.loadTree(a, signal)).nodes : [];
  const right = b ? (await repo.loadTree(b, signal)).nodes : [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    throwIfAborted(signal);
    const l = left[i];
    const r = right[j];
    const c = !l ? 1 : !r ? -1 : compareNames(l.name, r.name);
    if (c < 0) {
      i++;
      yield* side(repo, l!, `${base}/${l!.name}`, "removed", signal);
    } else if (c > 0) {
      j++;
      yield* side(repo, r!, `${base}/${r!.name}`, "added", signal);
    } else {
      i++;
      j++;
      yield* both(repo, l!, r!, `${base}/${l!.name}`, signal);
    }
  }
}

async function* both(repo: Repository, l: TreeNode, r: TreeNode, path: string, signal?: AbortSignal) {
  const changes = changesOf(l, r);
  if (changes[0] === "type") {
    yield { path, kind: "changed", changes, before: l, after: r } satisfies DiffEntry;
    if (l.type === "dir") yield* diffTrees(repo, l.subtree, undefined, path, signal);
    if (r.type === "dir") yield* diffTrees(repo, undefined, r.subtree, path, signal);
    return;
  }
  if (changes.length > 0) yield { path, kind: "changed", changes, before: l, after: r } satisfies DiffEntry;
  if (l.type === "dir") yield* diffTrees(repo, l.subtree, r.subtree, path, signal);
}

/** An entry only on one side, with everything below it. */
async function* side(
  repo: Repository,
  node: TreeNode,
  path: string,
  kind: "added" | "removed",
  signal?: AbortSignal,
): AsyncGenerator<DiffEntry> {
  yield kind === "added"
    ? { path, kind, changes: [], after: node }
    : { path, kind, changes: [], before: node };
  if (node.type !== "dir" || !node.subtree) return;
  for (const child of (await repo.loadTree(node.subtree, signal)).nodes) {
    yield* side(repo, child, `${path}/${child.name}`, kind, signal);
  }
}
