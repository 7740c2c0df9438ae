/**
 * Restores that keep what the target already holds. restore() itself overwrites (an existing file
 * that differs is replaced; one already correct is skipped). For "skip" (leave every existing
 * entry alone) and "rename" (keep both: the restored copy gets a free name like
 * `report (restored).pdf`), the snapshot is first restored into a fresh staging folder inside the
 * target (same file system, so moving is a rename), then merged entry by entry. The merge never
 * follows a symlink found in the target: every destination is judged with lstat, only real
 * directories are descended into, and a symlink where a folder belongs is a conflict like any other.
 */
import { randomBytes } from "node:crypto";
import { lstatSync, readdirSync, renameSync } from "node:fs";
import { restore } from "../restore.ts";
import type { Repository, Snapshot } from "../types.ts";
import { lstatAt } from "./fs-ops.ts";
import { removeStaleStaging, STAGING_PREFIX } from "./staging.ts";
import { openInside, openTarget, type TargetDirs } from "./target-dirs.ts";
import type { RestoreOptions, RestoreSummary } from "./types.ts";

export type ExistingPolicy = "skip" | "overwrite" | "rename";

export interface MergeSummary {
  /** Entries left in place because the target already had that name. */
  kept: number;
  /** Restored entries given another name beside an existing one. */
  renamed: number;
  /** Regular files and their bytes that were restored and then not placed (skip). */
  filesDropped: number;
  bytesDropped: number;
}

export interface PolicyRestoreSummary extends RestoreSummary {
  merge: MergeSummary | null;
}

const SLASH = Buffer.from("/");

/** `name (restored).ext`, `name (restored 2).ext`, … the first one free in `dir`. */
export function freeName(dirs: TargetDirs, dir: Buffer, name: Buffer): Buffer {
  const dot = name.lastIndexOf(0x2e);
  const cut = dot > 0 ? dot : name.length;
  const stem = name.subarray(0, cut);
  const ext = name.subarray(cut);
  for (let n = 1; ; n++) {
    const label = Buffer.from(n === 1 ? " (restored)" : ` (restored ${n})`);
    const candidate = Buffer.concat([stem, label, ext]);
    if (!lstatAt(dirs, Buffer.concat([dir, SLASH, candidate]))) return candidate;
  }
}

/** Regular files and bytes under `path` (not following symlinks). */
function countFiles(dirs: TargetDirs, path: Buffer): { files: number; bytes: number } {
  const st = lstatAt(dirs, path);
  if (!st) return { files: 0, bytes: 0 };
  if (st.isFile()) return { files: 1, bytes: Number(st.size) };
  if (!st.isDirectory()) return { files: 0, bytes: 0 };
  let files = 0;
  let bytes = 0;
  for (const name of readdirSync(dirs.dirPath(path), { encoding: "buffer" })) {
    const c = countFiles(dirs, Buffer.concat([path, SLASH, name]));
    files += c.files;
    bytes += c.bytes;
  }
  return { files, bytes };
}

/**
 * Moves the staged tree `from` into `to` by the policy; both are folders below `dirs`' root, and
 * every call goes through its held folders (a folder of the target swapped for a symlink is an
 * error, never followed).
 */
export function mergeInto(
  dirs: TargetDirs,
  from: Buffer,
  to: Buffer,
  policy: "skip" | "rename",
  out: MergeSummary,
  signal?: AbortSignal,
): void {
  for (const name of readdirSync(dirs.dirPath(from), { encoding: "buffer" })) {
    signal?.throwIfAborted();
    const src = Buffer.concat([from, SLASH, name]);
    const dst = Buffer.concat([to, SLASH, name]);
    const s = lstatSync(dirs.at(src));
    const d = lstatAt(dirs, dst);
    if (!d) {
      renameSync(...dirs.pair(src, dst));
    } else if (s.isDirectory() && d.isDirectory()) {
      mergeInto(dirs, src, dst, policy, out, signal);
    } else if (policy === "rename") {
      renameSync(...dirs.pair(src, Buffer.concat([to, SLASH, freeName(dirs, to, name)])));
      out.renamed++;
    } else {
      const c = countFiles(dirs, src);
      out.kept++;
      out.filesDropped += c.files;
      out.bytesDropped += c.bytes;
    }
  }
}

/**
 * restore() with an explicit choice for entries the target already has. The target is created
 * when missing and opened once; staging folders of restores whose process is gone are removed
 * first. The staging folder is made and opened through the target's descriptor (so the restore
 * writes into that folder, whatever its path turns into) and removed at the end, also after a
 * failure or a cancel.
 */
export async function restoreWithPolicy(
  repo: Repository,
  snapshot: Snapshot,
  options: RestoreOptions & { existing: ExistingPolicy },
): Promise<PolicyRestoreSummary> {
  const { existing, ...rest } = options;
  const outer = openTarget(options.target, undefined, options.within);
  try {
    removeStaleStaging(outer);
    if (existing === "overwrite") {
      return { ...(await restore(repo, snapshot, { ...rest, targetDirs: outer })), merge: null };
    }
    const name = `${STAGING_PREFIX}${process.pid}-${randomBytes(6).toString("hex")}`;
    const staging = Buffer.concat([outer.root, SLASH, Buffer.from(name)]);
    outer.mkdir(staging);
    try {
      const inner = openInside(outer, staging);
      let summary: RestoreSummary;
      try {
        summary = await restore(repo, snapshot, { ...rest, target: staging.toString(), targetDirs: inner });
      } finally {
        inner.close();
      }
      const merge: MergeSummary = { kept: 0, renamed: 0, filesDropped: 0, bytesDropped: 0 };
      mergeInto(outer, staging, outer.root, existing, merge, options.signal);
      return {
        ...summary,
        files_restored: summary.files_restored - merge.filesDropped,
        files_skipped: summary.files_skipped + merge.filesDropped,
        bytes_written: Math.max(0, summary.bytes_written - merge.bytesDropped),
        merge,
      };
    } finally {
      outer.remove(staging);
    }
  } finally {
    outer.close();
  }
}
