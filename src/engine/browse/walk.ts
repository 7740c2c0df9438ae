/**
 * A depth-first walk of snapshot trees with an explicit stack, not recursion: a hostile (or just
 * very deep) tree must not overflow the call stack. Memory is the trees along the current path.
 * Entries come in tree order, each directory before its contents. The stack is exposed so callers
 * can make a cursor from it (see search.ts) or start from one.
 */
import { throwIfAborted } from "../../util/errors.ts";
import type { TreeNode } from "../types.ts";
import type { TreeSource } from "./trees.ts";

export interface WalkFrame {
  nodes: readonly TreeNode[];
  /** Index of the next node to visit. */
  next: number;
  /** Path of the directory these nodes are in ("" for the root). */
  base: string;
}

export interface WalkEntry {
  node: TreeNode;
  /** Absolute path in the snapshot ("/home/me/a.txt"). */
  path: string;
  /** The stack at this entry: frame i's `next - 1` is the entry's index at depth i. */
  stack: readonly WalkFrame[];
}

/**
 * Visits every node below the frames given, continuing each frame at its `next`. A directory's
 * subtree is loaded when the walk enters it, after its entry was yielded; `recursive: false`
 * stays in the given frames. Throws CancelledError when `signal` fires, and what loadTree throws.
 */
export async function* walkFrames(
  trees: TreeSource,
  stack: WalkFrame[],
  signal?: AbortSignal,
  recursive = true,
): AsyncGenerator<WalkEntry> {
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    const node = frame.nodes[frame.next++];
    if (node === undefined) {
      stack.pop();
      continue;
    }
    throwIfAborted(signal);
    const path = `${frame.base}/${node.name}`;
    yield { node, path, stack };
    if (recursive && node.type === "dir" && node.subtree) {
      stack.push({ nodes: (await trees.loadTree(node.subtree, signal)).nodes, next: 0, base: path });
    }
  }
}
