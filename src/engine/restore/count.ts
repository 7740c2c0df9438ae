/**
 * The counting pass of a restore: totals for progress, hard link candidates, and trees loaded
 * ahead for the restoring walk.
 */
import type { Progress } from "../progress.ts";
import { badName } from "../tree.ts";
import type { BlobId, Repository } from "../types.ts";
import type { LinkCounter } from "./links.ts";
import type { Selection } from "./select.ts";
import { TreeFeed } from "./trees.ts";

/** What the pass reads and fills (the restore's run). */
export interface CountRun {
  repo: Repository;
  signal: AbortSignal;
  select: (path: string[]) => Selection;
  progress: Progress;
  counter: LinkCounter;
  /** Replaced by the feed the pass fills. */
  trees: TreeFeed;
}

/**
 * Counts the selected files and bytes, for progress totals, loading subtrees side by side (the
 * feed bounds how many at once) and leaving them in the feed for the restoring walk.
 */
async function countTree(run: CountRun, id: BlobId, comps: string[], acc: { files: number; bytes: number }) {
  // A tree that cannot be loaded is the walk's error to report; the count goes on without it.
  const tree = await run.trees.peek(id).catch(() => null);
  if (!tree) return;
  const subdirs: Promise<void>[] = [];
  for (const node of tree.nodes) {
    if (badName(node.name)) continue;
    const path = [...comps, node.name];
    const sel = run.select(path);
    if (sel === "none") continue;
    if (node.type === "dir" && node.subtree) subdirs.push(countTree(run, node.subtree, path, acc));
    else if (node.type === "file" && sel === "all") {
      acc.files++;
      acc.bytes += node.size;
      run.counter.add(node);
    }
  }
  await Promise.all(subdirs);
}

/**
 * Starts the counting pass (which also feeds trees to the walk). `done` settles when every
 * selected file was counted (hard link groups are known then); `stop` ends it early.
 */
export function startCount(run: CountRun, root: BlobId): { done: Promise<void>; stop: () => Promise<void> } {
  const stop = new AbortController();
  run.trees = new TreeFeed(run.repo, AbortSignal.any([run.signal, stop.signal]));
  const acc = { files: 0, bytes: 0 };
  const done = countTree(run, root, [], acc)
    .then(() => run.progress.scan(acc.files, acc.bytes, true))
    .catch(() => {});
  return {
    done,
    stop: async () => {
      stop.abort();
      await done;
    },
  };
}
