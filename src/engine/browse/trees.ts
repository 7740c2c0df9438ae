/**
 * What every browse function shares: a cache of decoded trees for one opened repository, path
 * resolution that refuses traversal, and name lookup by binary search (trees are sorted by
 * compareNames, so a 100,000-entry directory needs 17 comparisons, not a scan).
 */
import { CancelledError, NotFoundError, throwIfAborted, ValidationError } from "../../util/errors.ts";
import { nameFromBytes, nameMatches, nameToBytes } from "../scan/names.ts";
import { compareNames, nameSortKey } from "../tree.ts";
import type { BlobId, Repository, Snapshot, Tree, TreeNode } from "../types.ts";

/** Where browse functions get trees from: a Repository, or a TreeCache in front of one. */
export interface TreeSource {
  loadTree(id: BlobId, signal?: AbortSignal): Promise<Tree>;
}

/** Longest snapshot path accepted from a caller (characters). */
export const MAX_PATH_LENGTH = 64 * 1024;

/**
 * Decoded trees of ONE repository by id, least recently used dropped first, bounded by the nodes
 * held. Tree ids are content addresses, so a directory unchanged across snapshots is loaded and
 * decoded once. Never share one cache between repositories: ids are only meaningful (and only
 * verified) within the repository that holds them, and a hostile repository could name another
 * one's tree id to read it out of a shared cache. Trees handed out are shared: treat them as
 * read-only.
 */
export class TreeCache implements TreeSource {
  private readonly trees = new Map<BlobId, Promise<Tree>>();
  private readonly sizes = new Map<BlobId, number>();
  private nodes = 0;

  constructor(
    private readonly repo: Pick<Repository, "loadTree">,
    /** Nodes kept (≈ 300 bytes each decoded): the default holds about 100 MB. */
    private readonly maxNodes = 300_000,
  ) {}

  /** The tree, from the cache or loaded (concurrent loads of one id share one read). */
  loadTree(id: BlobId, signal?: AbortSignal): Promise<Tree> {
    const known = this.trees.get(id);
    if (known) {
      // Re-insert: Map order is the recency order.
      this.trees.delete(id);
      this.trees.set(id, known);
      return signal ? raceAbort(known, signal) : known;
    }
    // The load is shared by later callers, so it must not die with the first caller's signal;
    // each caller still stops waiting when its own signal fires.
    const p = this.repo.loadTree(id);
    this.trees.set(id, p);
    p.then(
      (t) => this.account(id, p, t.nodes.length),
      () => {
        if (this.trees.get(id) === p) this.trees.delete(id);
      },
    );
    return signal ? raceAbort(p, signal) : p;
  }

  /** Trees held (for tests and benchmarks). */
  get size(): number {
    return this.trees.size;
  }

  private account(id: BlobId, p: Promise<Tree>, n: number): void {
    if (this.trees.get(id) !== p) return;
    this.sizes.set(id, n);
    this.nodes += n;
    for (const [old] of this.trees) {
      if (this.nodes <= this.maxNodes || old === id) break;
      this.drop(old);
    }
  }

  private drop(id: BlobId): void {
    this.trees.delete(id);
    this.nodes -= this.sizes.get(id) ?? 0;
    this.sizes.delete(id);
  }
}

function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  throwIfAborted(signal);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new CancelledError("cancelled", { cause: signal.reason }));
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/**
 * Components of a snapshot path given by a caller: "" or "/" is the root; "/home/me/x" (a leading
 * "/" is optional, repeated and trailing "/" are ignored). ValidationError for ".", "..", NUL, a
 * non-string or an over-long path: nothing a caller sends can step outside the snapshot.
 */
export function parseSnapshotPath(path: unknown): string[] {
  if (typeof path !== "string") throw new ValidationError("path must be a string");
  if (path.length > MAX_PATH_LENGTH) throw new ValidationError("path is too long");
  if (path.includes("\0")) throw new ValidationError("path must not contain NUL");
  const parts = path.split("/").filter((p) => p !== "");
  if (parts.some((p) => p === "." || p === "..")) {
    throw new ValidationError(`path ${JSON.stringify(path)} must not contain "." or ".."`);
  }
  return parts;
}

/**
 * A URL-safe, lossless token for a snapshot path: base64url of its raw bytes. A name holding bytes
 * that are not UTF-8 (lone surrogates in the stored string) cannot go through encodeURIComponent
 * (it throws) nor survive a UTF-8 decode of a query string (U+FFFD); this token carries it exactly.
 */
export function encodePathToken(path: string): string {
  return nameToBytes(path).toString("base64url");
}

/** The path a token holds (see encodePathToken). ValidationError when it is not one. */
export function decodePathToken(token: string): string {
  if (!/^[A-Za-z0-9_-]{0,90000}$/.test(token)) throw new ValidationError("invalid path token");
  return nameFromBytes(Buffer.from(token, "base64url"));
}

/** A name or path for display (HTML, logs): bytes that are not UTF-8 shown as U+FFFD. */
export function displayName(name: string): string {
  return nameToBytes(name).toString("utf8");
}

/** The path of components as the snapshot spells it ("/" for the root). */
export function joinSnapshotPath(parts: readonly string[]): string {
  return `/${parts.join("/")}`;
}

/** Index of the first node whose name sorts after `key` (the UTF-8/WTF-8 bytes of a name). */
export function firstAfter(nodes: readonly TreeNode[], key: Uint8Array): number {
  let lo = 0;
  let hi = nodes.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (Buffer.compare(nameSortKey(nodes[mid]!.name), key) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The node named exactly `name` (binary search), or undefined. */
export function findExact(nodes: readonly TreeNode[], name: string): TreeNode | undefined {
  let lo = 0;
  let hi = nodes.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareNames(nodes[mid]!.name, name);
    if (c === 0) return nodes[mid];
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return undefined;
}

/**
 * The node named `part`: the exact name, else — when `part` holds U+FFFD, as a name with invalid
 * UTF-8 bytes reads once decoded for display — the one name it matches that way. ValidationError
 * when several do.
 */
export function findChild(nodes: readonly TreeNode[], part: string, path: string): TreeNode | undefined {
  const exact = findExact(nodes, part);
  if (exact || !part.includes("\uFFFD")) return exact;
  const like = nodes.filter((n) => nameMatches(part, n.name));
  if (like.length > 1) {
    throw new ValidationError(`${path}: ${like.length} names with invalid UTF-8 bytes match "${part}"`);
  }
  return like[0];
}

export interface Resolved {
  /** The node at the path; null for the root. */
  node: TreeNode | null;
  /** The path's components as stored. */
  parts: string[];
  /** For a directory (or the root): its tree id. */
  tree: BlobId | undefined;
}

/** Resolves a caller's path in a snapshot (see parseSnapshotPath). NotFound / Validation errors. */
export async function resolvePath(
  trees: TreeSource,
  snapshot: Pick<Snapshot, "id" | "tree">,
  path: string,
  signal?: AbortSignal,
): Promise<Resolved> {
  const wanted = parseSnapshotPath(path);
  let node: TreeNode | null = null;
  let tree: BlobId | undefined = snapshot.tree;
  const parts: string[] = [];
  for (const part of wanted) {
    const found: TreeNode | undefined =
      tree === undefined ? undefined : findChild((await trees.loadTree(tree, signal)).nodes, part, path);
    if (!found) throw new NotFoundError(`${path}: not found in snapshot ${snapshot.id.slice(0, 8)}`);
    node = found;
    parts.push(found.name);
    tree = found.type === "dir" ? found.subtree : undefined;
  }
  return { node, parts, tree };
}

/** The browse view of a node: its kind as the web shows it. */
export type EntryType = "file" | "dir" | "symlink" | "other";

/** Stored node types map 1:1; anything else (a future format) is "other". */
export function entryType(node: TreeNode): EntryType {
  return node.type === "file" || node.type === "dir" || node.type === "symlink" ? node.type : "other";
}

/** Nanosecond decimal mtime → ISO 8601 (millisecond precision; the full value stays in the node). */
export function isoTime(ns: string): string {
  const ms = BigInt(ns) / 1_000_000n;
  const clamped =
    ms > 8_640_000_000_000_000n
      ? 8_640_000_000_000_000n
      : ms < -8_640_000_000_000_000n
        ? -8_640_000_000_000_000n
        : ms;
  return new Date(Number(clamped)).toISOString();
}
