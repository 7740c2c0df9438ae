/**
 * `restore --delete`: makes the target match the snapshot by removing what the snapshot does not
 * hold, before the files are written. Only inside the target: every path removed is the target
 * joined with names read from the target's own folders, folders are entered only when lstat says
 * they are folders (a symlink is removed as a link, never followed), and only below selected
 * snapshot paths (with includes, the folders leading to them keep their other entries). Every call
 * goes through the target's held folders (target-dirs.ts): a folder swapped for a symlink meanwhile
 * is skipped, never entered.
 */
import { readdirSync } from "node:fs";
import { resolve } from "node:path";
import { throwIfAborted } from "../../util/errors.ts";
import { joinBytes, nameToBytes } from "../scan/names.ts";
import type { BlobId, FileError, Repository, Snapshot } from "../types.ts";
import { createSelector } from "./select.ts";
import { errnoCode, openTargetDirs, type TargetDirs } from "./target-dirs.ts";

export interface DeleteOptions {
  target: string;
  includes?: string[];
  excludes?: string[];
  /** Only count and report what would be removed. */
  dryRun?: boolean;
  signal?: AbortSignal;
  onDelete?: (path: string) => void;
  onError?: (error: FileError) => void;
}

/** Removes (or with dryRun, lists) entries of the target the snapshot does not hold; returns how many. */
export async function deleteExtraneous(
  repo: Repository,
  snapshot: Snapshot,
  o: DeleteOptions,
): Promise<number> {
  let dirs: TargetDirs;
  try {
    dirs = openTargetDirs(resolve(o.target));
  } catch (e) {
    if (errnoCode(e) === "ENOENT") return 0; // nothing there yet: nothing to remove
    throw e;
  }
  try {
    return await deleteBelow(repo, snapshot, o, dirs);
  } finally {
    dirs.close();
  }
}

/** True when `dir` is (still) a real folder of the target, reached without a symlink. */
function reachable(dirs: TargetDirs, dir: Buffer): boolean {
  try {
    dirs.dirPath(dir);
    return true;
  } catch {
    return false;
  }
}

async function deleteBelow(repo: Repository, snapshot: Snapshot, o: DeleteOptions, dirs: TargetDirs) {
  const select = createSelector(o.includes, o.excludes);
  const stack: { tree: BlobId; dir: Buffer; comps: string[] }[] = [
    { tree: snapshot.tree, dir: dirs.root, comps: [] },
  ];
  let removed = 0;
  while (stack.length > 0) {
    throwIfAborted(o.signal);
    const { tree, dir, comps } = stack.pop()!;
    if (!reachable(dirs, dir)) continue;
    const nodes = (await repo.loadTree(tree, o.signal)).nodes;
    const held = new Map(nodes.map((n) => [nameToBytes(n.name).toString("latin1"), n]));
    const here = select(comps, true);
    const names = reachable(dirs, dir) ? readdirSync(dirs.dirPath(dir), { encoding: "buffer" }) : [];
    for (const raw of names) {
      const node = held.get(raw.toString("latin1"));
      const path = joinBytes(dir, raw);
      if (node) {
        if (node.type === "dir" && node.subtree && select([...comps, node.name], true) !== "none") {
          stack.push({ tree: node.subtree, dir: path, comps: [...comps, node.name] });
        }
        continue;
      }
      if (here !== "all") continue; // a folder on the way to an include: not ours to clean
      const shown = path.toString("utf8");
      try {
        if (!o.dryRun) dirs.remove(path);
        removed++;
        o.onDelete?.(shown);
      } catch (e) {
        o.onError?.({ path: shown, message: e instanceof Error ? e.message : String(e) });
      }
    }
  }
  return removed;
}
