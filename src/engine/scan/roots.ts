/**
 * How the paths given to a backup map into the snapshot: the root tree mirrors absolute paths from
 * "/", as restic does. Backing up /home/a/x and /etc gives a root tree with "etc" and "home", and
 * "home" holds only "a", which holds only "x". Intermediate directories carry their real metadata.
 */
import { resolve, sep } from "node:path";
import { compareNames } from "../tree.ts";

export interface RootNode {
  /** Component name ("" for "/"). */
  name: string;
  /** Absolute path of this node. */
  path: string;
  /** True when this path was given: walk it entirely. */
  given: boolean;
  children: RootNode[];
}

/** Resolves, de-duplicates and sorts paths; drops paths inside another given path. */
export function normalizePaths(paths: string[], cwd = process.cwd()): string[] {
  const abs = [...new Set(paths.map((p) => resolve(cwd, p)))].sort(comparePaths);
  return abs.filter((p) => !abs.some((q) => q !== p && isInside(p, q)));
}

function comparePaths(a: string, b: string): number {
  return compareNames(a, b);
}

/** True when `p` is strictly inside directory `dir`. */
export function isInside(p: string, dir: string): boolean {
  if (dir === sep) return p !== sep;
  return p.startsWith(`${dir}${sep}`);
}

/** A trie of the (normalized) paths, rooted at "/". */
export function buildRoots(paths: string[]): RootNode {
  const root: RootNode = { name: "", path: "/", given: false, children: [] };
  for (const p of paths) {
    if (p === "/") {
      root.given = true;
      continue;
    }
    let node = root;
    const parts = p.split("/").filter((s) => s !== "");
    for (const [i, part] of parts.entries()) {
      let child = node.children.find((c) => c.name === part);
      if (!child) {
        child = { name: part, path: `/${parts.slice(0, i + 1).join("/")}`, given: false, children: [] };
        node.children.push(child);
      }
      node = child;
    }
    node.given = true;
  }
  sortTrie(root);
  return root;
}

function sortTrie(n: RootNode): void {
  n.children.sort((a, b) => compareNames(a.name, b.name));
  for (const c of n.children) sortTrie(c);
}
