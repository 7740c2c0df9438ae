/**
 * One directory of a snapshot, a page at a time. Pages are keyset pages: the cursor holds the last
 * name returned and the next page starts at the first name after it (a binary search in the sorted
 * tree), so page 500 costs what page 1 costs. With a TreeCache the directory's tree is decoded once
 * and every later page is a slice of it.
 */
import { ValidationError } from "../../util/errors.ts";
import { nameSortKey } from "../tree.ts";
import type { Snapshot, TreeNode } from "../types.ts";
import {
  type EntryType,
  entryType,
  firstAfter,
  isoTime,
  joinSnapshotPath,
  resolvePath,
  type TreeSource,
} from "./trees.ts";

export interface TreeItem {
  /** The name as stored: lossless; bytes of a non-UTF-8 name are lone surrogates U+DC80–U+DCFF. */
  name: string;
  type: EntryType;
  /** Files: content bytes; 0 otherwise. */
  size: number;
  /** st_mode & 0o7777. */
  mode: number;
  /** ISO 8601, UTC, milliseconds. */
  mtime: string;
  /** Symlinks only: the link target, verbatim. */
  target?: string;
}

export interface TreePage {
  /** The directory's path as stored ("/" for the root). */
  path: string;
  items: TreeItem[];
  /** Pass back as `cursor` for the next page; null after the last one. */
  nextCursor: string | null;
}

export interface TreePageOptions {
  /** From a previous page's nextCursor; absent for the first page. */
  cursor?: string | null;
  /** Entries per page (1–1000, default 200). */
  limit?: number;
  signal?: AbortSignal;
}

export const DEFAULT_PAGE = 200;
export const MAX_PAGE = 1000;

/** The page size asked for, checked. ValidationError outside 1..MAX_PAGE. */
export function pageLimit(limit: number | undefined): number {
  const n = limit ?? DEFAULT_PAGE;
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE) {
    throw new ValidationError(`limit must be an integer from 1 to ${MAX_PAGE}`);
  }
  return n;
}

const CURSOR_VERSION = 1;

/** Opaque cursor: a version byte and the WTF-8 bytes of the last name, base64url. */
export function encodeNameCursor(name: string): string {
  return Buffer.concat([Buffer.from([CURSOR_VERSION]), nameSortKey(name)]).toString("base64url");
}

/** The name bytes a cursor holds. ValidationError for anything not made by encodeNameCursor. */
export function decodeNameCursor(cursor: string): Uint8Array {
  // A name is at most 4096 UTF-16 units, 12,288 bytes: 16,386 base64url characters with the version.
  const bytes = /^[A-Za-z0-9_-]{2,16400}$/.test(cursor) ? Buffer.from(cursor, "base64url") : null;
  if (!bytes || bytes.length < 2 || bytes[0] !== CURSOR_VERSION) throw new ValidationError("invalid cursor");
  return bytes.subarray(1);
}

/** The web's view of one node. */
export function treeItem(node: TreeNode): TreeItem {
  const item: TreeItem = {
    name: node.name,
    type: entryType(node),
    size: node.type === "file" ? node.size : 0,
    mode: node.mode,
    mtime: isoTime(node.mtime),
  };
  if (node.type === "symlink" && node.target !== undefined) item.target = node.target;
  return item;
}

/**
 * Lists the directory at `path` ("/" for the root) in name order, `limit` entries from `cursor`.
 * NotFoundError when the path is not in the snapshot; ValidationError for a traversal attempt, a
 * path that is not a directory, a bad cursor or limit.
 */
export async function listTreePage(
  trees: TreeSource,
  snapshot: Pick<Snapshot, "id" | "tree">,
  path: string,
  options: TreePageOptions = {},
): Promise<TreePage> {
  const limit = pageLimit(options.limit);
  const after = options.cursor ? decodeNameCursor(options.cursor) : null;
  const { node, parts, tree } = await resolvePath(trees, snapshot, path, options.signal);
  if (tree === undefined) {
    throw new ValidationError(`${path}: is a ${node?.type ?? "missing entry"}, not a directory`);
  }
  const { nodes } = await trees.loadTree(tree, options.signal);
  const start = after ? firstAfter(nodes, after) : 0;
  const slice = nodes.slice(start, start + limit);
  const more = start + limit < nodes.length;
  return {
    path: joinSnapshotPath(parts),
    items: slice.map(treeItem),
    nextCursor: more && slice.length > 0 ? encodeNameCursor(slice[slice.length - 1]!.name) : null,
  };
}
