/**
 * Filesystem steps of a restore that never follow a symlink found in the target: an existing entry
 * of the wrong kind (a symlink where a file or directory belongs, a directory where a file
 * belongs) is removed, not written through. Files are written under a temporary name in the same
 * directory and renamed into place, so an interrupted restore never leaves a half-written file
 * under its real name.
 */
import { createHash } from "node:crypto";
import type { BigIntStats } from "node:fs";
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  lchownSync,
  lstatSync,
  openSync,
  readlinkSync,
  symlinkSync,
} from "node:fs";
import type { TreeNode } from "../types.ts";
import type { TargetDirs } from "./target-dirs.ts";
import { exactTimes, setFdTimes, setPathTimes } from "./times.ts";

const isRoot = typeof process.getuid === "function" && process.getuid() === 0;

/** lstat of the entry at `abs` (below the target), null when there is none. */
export function lstatAt(dirs: TargetDirs, abs: Buffer): BigIntStats | null {
  return lstatSync(dirs.at(abs), { bigint: true, throwIfNoEntry: false }) ?? null;
}

/**
 * Makes `path` a real directory (owner-writable until its metadata is applied at the end). A
 * file or symlink in its place is removed, never followed.
 */
export function ensureDir(dirs: TargetDirs, path: Buffer): void {
  const st = lstatAt(dirs, path);
  if (st?.isDirectory()) return;
  if (st) dirs.remove(path);
  dirs.mkdir(path);
}

/**
 * True when a restored entry's mtime is the node's: exact where times are set to the nanosecond,
 * else within the microsecond the fallback keeps (see times.ts).
 */
export function sameMtime(st: BigIntStats, ns: string): boolean {
  const d = st.mtimeNs - BigInt(ns);
  if (exactTimes) return d === 0n;
  return d < 1000n && d > -1000n;
}

/** The temporary name a file is written under before its rename: deterministic, short. */
export function tempName(dir: Buffer, name: Buffer): Buffer {
  const h = createHash("sha256").update(name).digest("hex").slice(0, 16);
  return Buffer.concat([dir, Buffer.from(`/.backapp-part-${h}`)]);
}

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/**
 * Owner (as root, best effort), mode and times of a directory, after its contents. Through a
 * handle opened without following a symlink, so a directory swapped for a symlink since it was
 * made (by someone else writing in the target) never passes its mode or owner to what it points at.
 */
export function applyDirMeta(dirs: TargetDirs, path: Buffer, node: TreeNode): void {
  const fd = openSync(dirs.at(path), DIR_FLAGS);
  try {
    if (isRoot) {
      try {
        fchownSync(fd, node.uid, node.gid);
      } catch {
        // best effort, as for every owner change
      }
    }
    fchmodSync(fd, node.mode & 0o7777);
    setFdTimes(fd, node.mtime);
  } finally {
    closeSync(fd);
  }
}

/** Creates (or keeps, when identical) a symlink; never follows an existing one. */
export function restoreSymlink(dirs: TargetDirs, path: Buffer, target: Buffer, node: TreeNode): boolean {
  const st = lstatAt(dirs, path);
  if (st?.isSymbolicLink() && sameMtime(st, node.mtime)) {
    if (Buffer.compare(readlinkSync(dirs.at(path), { encoding: "buffer" }), target) === 0) return false;
  }
  if (st) dirs.remove(path);
  symlinkSync(target, dirs.at(path));
  if (isRoot) {
    try {
      lchownSync(dirs.at(path), node.uid, node.gid);
    } catch {
      // best effort
    }
  }
  try {
    setPathTimes(dirs.at(path), node.mtime, true);
  } catch {
    // a symlink's time is best effort (some file systems refuse it)
  }
  return true;
}

export { isRoot };
