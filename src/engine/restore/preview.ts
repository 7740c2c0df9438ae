/** `restore --dry-run`: what a restore would write, from the snapshot's trees and lstat alone. */
import { lstat } from "node:fs/promises";
import { resolve } from "node:path";
import { throwIfAborted } from "../../util/errors.ts";
import { joinBytes, nameToBytes } from "../scan/names.ts";
import type { BlobId, Repository, Snapshot } from "../types.ts";
import { createSelector } from "./select.ts";

export interface RestorePreview {
  /** Files not in the target yet. */
  files_new: number;
  bytes_new: number;
  /** Files already at their path: rewritten or kept per the overwrite mode. */
  files_existing: number;
  bytes_existing: number;
  dirs: number;
  symlinks: number;
}

export async function previewRestore(
  repo: Repository,
  snapshot: Snapshot,
  o: {
    target: string;
    includes?: string[];
    excludes?: string[];
    signal?: AbortSignal;
    /** Each file not in the target yet (snapshot path and size): what the restore would write. */
    onNewFile?: (path: string, size: number) => void;
  },
): Promise<RestorePreview> {
  const select = createSelector(o.includes, o.excludes);
  const out: RestorePreview = {
    files_new: 0,
    bytes_new: 0,
    files_existing: 0,
    bytes_existing: 0,
    dirs: 0,
    symlinks: 0,
  };
  const stack: { tree: BlobId; dir: Buffer; comps: string[] }[] = [
    { tree: snapshot.tree, dir: Buffer.from(resolve(o.target)), comps: [] },
  ];
  while (stack.length > 0) {
    throwIfAborted(o.signal);
    const { tree, dir, comps } = stack.pop()!;
    for (const node of (await repo.loadTree(tree, o.signal)).nodes) {
      const path = [...comps, node.name];
      const sel = select(path, node.type === "dir");
      if (sel === "none") continue;
      const full = joinBytes(dir, nameToBytes(node.name));
      if (node.type === "dir") {
        out.dirs++;
        if (node.subtree) stack.push({ tree: node.subtree, dir: full, comps: path });
      } else if (sel !== "all") {
      } else if (node.type === "symlink") {
        out.symlinks++;
      } else if ((await lstat(full).catch(() => null))?.isFile()) {
        out.files_existing++;
        out.bytes_existing += node.size;
      } else {
        out.files_new++;
        out.bytes_new += node.size;
        o.onNewFile?.(`/${path.join("/")}`, node.size);
      }
    }
  }
  return out;
}
