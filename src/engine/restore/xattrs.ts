/**
 * Restoring extended attributes, a pass after the files are in place (so a rewritten file does not
 * drop them, and the kernel's clearing of security.capability on write has already happened).
 * Setting an attribute changes no mtime. A file system that refuses one (EOPNOTSUPP on tmpfs for
 * some namespaces, EPERM for trusted.* without privilege) gives a notice, not a failure.
 */
import { resolve } from "node:path";
import { throwIfAborted } from "../../util/errors.ts";
import { joinBytes, nameToBytes } from "../scan/names.ts";
import { badName } from "../tree.ts";
import type { BlobId, FileError, Repository, Snapshot, TreeNode } from "../types.ts";
import { writeXattr } from "../xattr.ts";
import { createSelector } from "./select.ts";
import { openTargetDirs, type TargetDirs } from "./target-dirs.ts";

export interface XattrRestoreOptions {
  target: string;
  includes?: string[];
  excludes?: string[];
  signal?: AbortSignal;
  onNotice?: (notice: FileError) => void;
}

/**
 * Sets the stored attributes below the target (through its held folders: a folder swapped for a
 * symlink gives a notice, never an attribute on what it points at); returns how many were set.
 */
export async function restoreXattrs(
  repo: Repository,
  snapshot: Snapshot,
  o: XattrRestoreOptions,
): Promise<number> {
  if (repo.storesXattrs === false) return 0; // a format-1 repository holds none
  const dirs = openTargetDirs(resolve(o.target));
  try {
    return await restoreBelow(repo, snapshot, o, dirs);
  } finally {
    dirs.close();
  }
}

async function restoreBelow(repo: Repository, snapshot: Snapshot, o: XattrRestoreOptions, dirs: TargetDirs) {
  const select = createSelector(o.includes, o.excludes);
  const stack: { tree: BlobId; dir: Buffer; comps: string[] }[] = [
    { tree: snapshot.tree, dir: dirs.root, comps: [] },
  ];
  let set = 0;
  while (stack.length > 0) {
    throwIfAborted(o.signal);
    const { tree, dir, comps } = stack.pop()!;
    let nodes: TreeNode[];
    try {
      nodes = (await repo.loadTree(tree, o.signal)).nodes;
    } catch (e) {
      if (o.signal?.aborted) throw e;
      continue; // a tree that cannot be read was reported by the restore itself
    }
    for (const node of nodes) {
      if (badName(node.name)) continue; // refused by the restore: never a path here
      const path = [...comps, node.name];
      const sel = select(path, node.type === "dir");
      if (sel === "none") continue;
      const full = joinBytes(dir, nameToBytes(node.name));
      if (node.type === "dir" && node.subtree) stack.push({ tree: node.subtree, dir: full, comps: path });
      if (sel !== "all" || !node.xattrs) continue;
      const refused: string[] = [];
      for (const a of node.xattrs) {
        try {
          writeXattr(dirs.at(full), a.name, Buffer.from(a.value, "base64"));
          set++;
        } catch (e) {
          refused.push(`${a.name} (${(e as { code?: string }).code ?? (e as Error).message})`);
        }
      }
      if (refused.length > 0) {
        o.onNotice?.({
          path: `/${path.join("/")}`,
          message: `extended attributes not restored: ${refused.join(", ")}`,
        });
      }
    }
  }
  return set;
}
