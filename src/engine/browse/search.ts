/**
 * Finding names across a snapshot. The walk streams through the trees (walk.ts: explicit stack,
 * memory = the trees along one path), stops as soon as a page is full, and stops after scanning
 * `maxScanned` entries even when the page is not full, so one request never walks a huge snapshot
 * end to end. Either way the cursor resumes the walk where it stopped: it is the position of the
 * last entry visited (its index at each depth), bound to the snapshot's root tree.
 */
import { Minimatch } from "minimatch";
import { ValidationError } from "../../util/errors.ts";
import type { Snapshot, TreeNode } from "../types.ts";
import { pageLimit } from "./tree-page.ts";
import { type EntryType, entryType, isoTime, type TreeSource } from "./trees.ts";
import { type WalkFrame, walkFrames } from "./walk.ts";

export type SearchMode = "substring" | "glob" | "auto";

export interface SearchItem {
  /** Absolute path in the snapshot, names as stored (lossless, see TreeItem.name). */
  path: string;
  type: EntryType;
  size: number;
  /** ISO 8601, UTC, milliseconds. */
  mtime: string;
}

export interface SearchPage {
  items: SearchItem[];
  /**
   * Null when the whole snapshot was searched. Otherwise pass it back for more; a page may hold
   * fewer than `limit` items (even none) when the scan budget ran out first.
   */
  nextCursor: string | null;
  /** Entries visited by this call. */
  scanned: number;
}

export interface SearchOptions {
  /**
   * "substring": case-insensitive substring of the name. "glob": a minimatch pattern, case
   * insensitive, matched against the name, or against the absolute path when it holds "/"
   * ("docs/*.pdf" is "**\/docs/*.pdf"; paths over 4096 characters never match such a glob). "auto" (default): glob when the query holds * ? or [.
   */
  mode?: SearchMode;
  cursor?: string | null;
  /** Items per page (1–1000, default 200). */
  limit?: number;
  /** Entries visited per call at most (default 200,000). */
  maxScanned?: number;
  signal?: AbortSignal;
}

export const MAX_QUERY_LENGTH = 1024;
/** Longest path a glob with "/" is matched against (Linux PATH_MAX). */
const MAX_GLOB_PATH = 4096;
const DEFAULT_MAX_SCANNED = 200_000;

type Matcher = (node: TreeNode, path: string) => boolean;

/** A matcher for `query`. ValidationError for an empty or over-long query. */
export function createMatcher(query: string, mode: SearchMode = "auto"): Matcher {
  if (typeof query !== "string" || query.length === 0) throw new ValidationError("search query is empty");
  if (query.length > MAX_QUERY_LENGTH) throw new ValidationError("search query is too long");
  if (query.includes("\0")) throw new ValidationError("search query must not contain NUL");
  const glob = mode === "glob" || (mode === "auto" && /[*?[]/.test(query));
  if (!glob) {
    const q = query.toLowerCase();
    return (node) => node.name.toLowerCase().includes(q);
  }
  const opts = { nocase: true, dot: true, nonegate: true, nocomment: true };
  if (!query.includes("/")) {
    const m = new Minimatch(query, opts);
    return (node) => m.match(node.name);
  }
  const anchored = query.startsWith("/") ? query : query.startsWith("**/") ? `/${query}` : `/**/${query}`;
  const m = new Minimatch(anchored, opts);
  // Real paths stay under PATH_MAX; a hostile tree's 40,000-character paths would make every
  // match cost as much as the path is long.
  return (_node, path) => path.length <= MAX_GLOB_PATH && m.match(path);
}

const CURSOR_VERSION = "s1";

function encodeCursor(rootTree: string, stack: readonly WalkFrame[]): string {
  const at = stack.map((f) => f.next - 1).join(".");
  return Buffer.from(`${CURSOR_VERSION}:${rootTree.slice(0, 16)}:${at}`).toString("base64url");
}

function badCursor(): never {
  throw new ValidationError("invalid cursor");
}

/** The indices a cursor holds, checked against this snapshot. */
function decodeCursor(cursor: string, rootTree: string): number[] {
  if (!/^[A-Za-z0-9_-]{1,1000000}$/.test(cursor)) badCursor();
  const [version, root, at, extra] = Buffer.from(cursor, "base64url").toString("latin1").split(":");
  if (version !== CURSOR_VERSION || root !== rootTree.slice(0, 16) || extra !== undefined || !at) badCursor();
  const indices = at.split(".").map(Number);
  if (!indices.every((i) => Number.isSafeInteger(i) && i >= 0)) badCursor();
  return indices;
}

/** Rebuilds the walk's stack just after the entry a cursor names (its children come next). */
async function resume(
  trees: TreeSource,
  root: WalkFrame,
  indices: number[],
  signal?: AbortSignal,
): Promise<WalkFrame[]> {
  const stack: WalkFrame[] = [];
  let frame = root;
  for (let depth = 0; ; depth++) {
    const node = frame.nodes[indices[depth]!] ?? badCursor();
    frame.next = indices[depth]! + 1;
    stack.push(frame);
    const last = depth === indices.length - 1;
    if (node.type !== "dir" || !node.subtree) {
      if (!last) badCursor();
      return stack;
    }
    const child = {
      nodes: (await trees.loadTree(node.subtree, signal)).nodes,
      next: 0,
      base: `${frame.base}/${node.name}`,
    };
    if (last) {
      stack.push(child);
      return stack;
    }
    frame = child;
  }
}

/**
 * One page of the entries of `snapshot` whose names match `query`, in tree order (depth first, by
 * name). ValidationError for a bad query, limit or cursor; CancelledError when `signal` fires.
 */
export async function searchSnapshot(
  trees: TreeSource,
  snapshot: Pick<Snapshot, "tree">,
  query: string,
  options: SearchOptions = {},
): Promise<SearchPage> {
  const limit = pageLimit(options.limit);
  const maxScanned = options.maxScanned ?? DEFAULT_MAX_SCANNED;
  const match = createMatcher(query, options.mode);
  const indices = options.cursor ? decodeCursor(options.cursor, snapshot.tree) : null;
  const root: WalkFrame = {
    nodes: (await trees.loadTree(snapshot.tree, options.signal)).nodes,
    next: 0,
    base: "",
  };
  const stack = indices ? await resume(trees, root, indices, options.signal) : [root];
  const items: SearchItem[] = [];
  let scanned = 0;
  for await (const { node, path, stack: at } of walkFrames(trees, stack, options.signal)) {
    scanned++;
    if (match(node, path)) {
      items.push({
        path,
        type: entryType(node),
        size: node.type === "file" ? node.size : 0,
        mtime: isoTime(node.mtime),
      });
    }
    if (items.length >= limit || scanned >= maxScanned) {
      return { items, nextCursor: encodeCursor(snapshot.tree, at), scanned };
    }
  }
  return { items, nextCursor: null, scanned };
}
