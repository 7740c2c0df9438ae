/**
 * Tree blobs: canonical JSON of a Tree (fixed key order, nodes sorted by the UTF-8 bytes of their
 * names, no insignificant whitespace), so equal directories give equal blob ids. Decoding validates
 * everything, because a tree read back from a repository may be hostile: a name like "../x" must
 * never reach the restorer.
 */
import { IntegrityError, ValidationError } from "../util/errors.ts";
import type { BlobId, NodeType, Repository, Tree, TreeNode } from "./types.ts";

const TYPES: readonly NodeType[] = ["file", "dir", "symlink"];
const HEX64 = /^[0-9a-f]{64}$/;
const DECIMAL = /^-?(0|[1-9][0-9]{0,30})$/;
const KEYS = new Set([
  "name",
  "type",
  "mode",
  "uid",
  "gid",
  "mtime",
  "ctime",
  "inode",
  "device",
  "size",
  "content",
  "subtree",
  "target",
  "xattrs",
]);

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Null when `x` is a well-formed xattrs list: names non-empty without NUL, sorted, unique; base64 values. */
function xattrsProblem(x: unknown): string | null {
  if (x === undefined) return null;
  if (!Array.isArray(x) || x.length > 10_000) return "xattrs is not a list";
  let prev = "";
  for (const a of x as { name?: unknown; value?: unknown }[]) {
    if (typeof a !== "object" || a === null || Object.keys(a).some((k) => k !== "name" && k !== "value")) {
      return "xattr is not {name, value}";
    }
    if (typeof a.name !== "string" || a.name === "" || a.name.includes("\0") || a.name <= prev) {
      return "xattr names must be non-empty, sorted and unique";
    }
    if (typeof a.value !== "string" || !BASE64.test(a.value)) return "xattr value is not base64";
    prev = a.name;
  }
  return null;
}

/**
 * The bytes names are ordered by: UTF-8, generalised to lone surrogates (WTF-8: a lone surrogate is
 * encoded like any other code point below U+10000, in three bytes). Names of non-UTF-8 files carry
 * their stray bytes as lone surrogates U+DC80–U+DCFF (see scan/names.ts); plain UTF-8 would map all
 * of them to U+FFFD and make distinct names compare equal.
 */
export function nameSortKey(name: string): Buffer {
  const out: number[] = [];
  for (const ch of name) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x80) out.push(cp);
    else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 63));
    else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
    else out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 63), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
  }
  return Buffer.from(out);
}

const SURROGATE = /[\ud800-\udfff]/;

/**
 * Compares names by their (generalised) UTF-8 bytes, not UTF-16 code units. Without surrogates
 * (every name outside the astral planes and invalid UTF-8) UTF-16 code unit order is code point
 * order, which is UTF-8 byte order: a plain string comparison, no encoding.
 */
export function compareNames(a: string, b: string): number {
  if (!SURROGATE.test(a) && !SURROGATE.test(b)) return a < b ? -1 : a > b ? 1 : 0;
  return Buffer.compare(nameSortKey(a), nameSortKey(b));
}

/** Lone surrogates other than escaped bytes (U+DC80–U+DCFF) never come from a file name. */
function badSurrogate(name: string): boolean {
  if (!SURROGATE.test(name)) return false;
  for (const ch of name) {
    const cp = ch.codePointAt(0)!;
    if (cp >= 0xd800 && cp <= 0xdfff && !(cp >= 0xdc80 && cp <= 0xdcff)) return true;
  }
  return false;
}

/** Why `name` is not a safe single path component, or null when it is. */
export function badName(name: unknown): string | null {
  if (typeof name !== "string") return "name is not a string";
  if (name === "" || name === "." || name === "..") return `name ${JSON.stringify(name)} is not allowed`;
  if (name.includes("/") || name.includes("\0")) return `name ${JSON.stringify(name)} contains "/" or NUL`;
  if (name.length > 4096) return "name is longer than 4096 characters";
  if (badSurrogate(name)) return `name ${JSON.stringify(name)} has a lone surrogate outside U+DC80–U+DCFF`;
  return null;
}

function isUint(n: unknown, max = Number.MAX_SAFE_INTEGER): boolean {
  return typeof n === "number" && Number.isInteger(n) && n >= 0 && n <= max;
}

function nodeProblem(n: TreeNode): string | null {
  if (typeof n !== "object" || n === null || Array.isArray(n)) return "node is not an object";
  for (const k of Object.keys(n)) if (!KEYS.has(k)) return `unknown field ${JSON.stringify(k)}`;
  const name = badName(n.name);
  if (name) return name;
  if (!TYPES.includes(n.type)) return `unknown node type ${JSON.stringify(n.type)}`;
  if (!isUint(n.mode, 0o177777)) return "mode out of range";
  if (!isUint(n.uid, 2 ** 32 - 1) || !isUint(n.gid, 2 ** 32 - 1)) return "uid/gid out of range";
  if (!isUint(n.inode) || !isUint(n.device) || !isUint(n.size)) return "inode/device/size out of range";
  if (typeof n.mtime !== "string" || !DECIMAL.test(n.mtime)) return "mtime is not a decimal string";
  if (typeof n.ctime !== "string" || !DECIMAL.test(n.ctime)) return "ctime is not a decimal string";
  return xattrsProblem(n.xattrs) ?? typeProblem(n);
}

function typeProblem(n: TreeNode): string | null {
  if (n.type === "file") {
    if (!Array.isArray(n.content) || !n.content.every((id) => typeof id === "string" && HEX64.test(id))) {
      return "file content is not a list of blob ids";
    }
    if (n.subtree !== undefined || n.target !== undefined) return "file has a subtree or target";
  } else if (n.type === "dir") {
    if (typeof n.subtree !== "string" || !HEX64.test(n.subtree)) return "dir subtree is not a blob id";
    if (n.content !== undefined || n.target !== undefined || n.size !== 0) return "dir has content or size";
  } else {
    if (typeof n.target !== "string" || n.target.includes("\0")) return "symlink target is not a string";
    if (n.content !== undefined || n.subtree !== undefined) return "symlink has content or subtree";
  }
  return null;
}

/** Null when `tree` is well formed: valid nodes, sorted by name, no duplicates. */
export function treeProblem(tree: Tree): string | null {
  if (typeof tree !== "object" || tree === null || !Array.isArray(tree.nodes)) return "tree has no node list";
  if (Object.keys(tree).some((k) => k !== "nodes")) return "tree has unknown fields";
  let prev: string | null = null;
  for (const node of tree.nodes) {
    const p = nodeProblem(node);
    if (p) return `${typeof node?.name === "string" ? JSON.stringify(node.name) : "node"}: ${p}`;
    if (prev !== null && compareNames(prev, node.name) >= 0) {
      return `${JSON.stringify(node.name)}: nodes not sorted or duplicated`;
    }
    prev = node.name;
  }
  return null;
}

function canonicalNode(n: TreeNode): TreeNode {
  const out: TreeNode = {
    name: n.name,
    type: n.type,
    mode: n.mode,
    uid: n.uid,
    gid: n.gid,
    mtime: n.mtime,
    ctime: n.ctime,
    inode: n.inode,
    device: n.device,
    size: n.size,
  };
  if (n.content !== undefined) out.content = n.content;
  if (n.subtree !== undefined) out.subtree = n.subtree;
  if (n.target !== undefined) out.target = n.target;
  if (n.xattrs !== undefined && n.xattrs.length > 0) {
    out.xattrs = n.xattrs.map((a) => ({ name: a.name, value: a.value }));
  }
  return out;
}

/** Canonical bytes of a tree (sorting its nodes). ValidationError when a node is invalid. */
export function encodeTree(tree: Tree): Uint8Array {
  const name = (n: TreeNode) => (typeof n.name === "string" ? n.name : "");
  const nodes = [...tree.nodes].sort((a, b) => compareNames(name(a), name(b))).map(canonicalNode);
  const sorted = { nodes };
  const problem = treeProblem(sorted);
  if (problem) throw new ValidationError(`invalid tree: ${problem}`);
  return new TextEncoder().encode(JSON.stringify(sorted));
}

/** Parses and validates tree bytes. IntegrityError when they are not a valid canonical tree. */
export function decodeTree(bytes: Uint8Array): Tree {
  let tree: Tree;
  try {
    tree = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes)) as Tree;
  } catch (cause) {
    throw new IntegrityError("tree is not UTF-8 JSON", { cause });
  }
  const problem = treeProblem(tree);
  if (problem) throw new IntegrityError(`invalid tree: ${problem}`);
  return tree;
}

type BlobStore = Pick<Repository, "blobId" | "saveBlob" | "loadBlob">;

/** Encodes and stores a tree blob; returns its id. */
export async function saveTree(repo: BlobStore, tree: Tree, signal?: AbortSignal): Promise<BlobId> {
  const bytes = encodeTree(tree);
  const id = repo.blobId(bytes);
  await repo.saveBlob("tree", id, bytes, signal);
  return id;
}

/** Loads and validates a tree blob. NotFound / Integrity errors name the tree. */
export async function loadTree(repo: BlobStore, id: BlobId, signal?: AbortSignal): Promise<Tree> {
  const bytes = await repo.loadBlob("tree", id, signal);
  try {
    return decodeTree(bytes);
  } catch (e) {
    throw new IntegrityError(`tree ${id}: ${(e as Error).message}`, { cause: e });
  }
}
