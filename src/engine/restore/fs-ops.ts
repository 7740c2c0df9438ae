/**
 * Filesystem steps of a restore that never follow a symlink found in the target: an existing entry
 * of the wrong kind (a symlink where a file or directory belongs, a directory where a file
 * belongs) is removed, not written through. Files are written under a temporary name in the same
 * directory and renamed into place, so an interrupted restore never leaves a half-written file
 * under its real name.
 */
import { createHash } from "node:crypto";
import type { BigIntStats } from "node:fs";
import { constants } from "node:fs";
import { lchown, lstat, mkdir, open, readlink, rm, symlink, unlink } from "node:fs/promises";
import type { TreeNode } from "../types.ts";
import { exactTimes, setFdTimes, setPathTimes } from "./times.ts";

const isRoot = typeof process.getuid === "function" && process.getuid() === 0;

export async function lstatOrNull(path: Buffer): Promise<BigIntStats | null> {
  try {
    return await lstat(path, { bigint: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
}

/** Removes whatever is at `path` (a directory recursively). */
export async function removeEntry(path: Buffer, st: BigIntStats): Promise<void> {
  if (st.isDirectory()) await rm(path, { recursive: true, force: true });
  else await unlink(path);
}

/** Makes `path` a real directory (owner-writable until its metadata is applied at the end). */
export async function ensureDir(path: Buffer): Promise<void> {
  const st = await lstatOrNull(path);
  if (st?.isDirectory()) return;
  if (st) await removeEntry(path, st);
  await mkdir(path, { mode: 0o700 });
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

const WRITE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW;

/** Opens `path` for writing, replacing a symlink or directory that sits there. */
export async function openForWrite(path: Buffer) {
  try {
    return await open(path, WRITE_FLAGS, 0o600);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "ELOOP" && code !== "EISDIR") throw e;
    const st = await lstatOrNull(path);
    if (st) await removeEntry(path, st);
    return await open(path, WRITE_FLAGS, 0o600);
  }
}

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/**
 * Owner (as root, best effort), mode and times of a directory, after its contents. Through a
 * handle opened without following a symlink, so a directory swapped for a symlink since it was
 * made (by someone else writing in the target) never passes its mode or owner to what it points at.
 */
export async function applyDirMeta(path: Buffer, node: TreeNode): Promise<void> {
  const fh = await open(path, DIR_FLAGS);
  try {
    if (isRoot) await fh.chown(node.uid, node.gid).catch(() => {});
    await fh.chmod(node.mode & 0o7777);
    setFdTimes(fh.fd, node.mtime);
  } finally {
    await fh.close();
  }
}

/** Creates (or keeps, when identical) a symlink; never follows an existing one. */
export async function restoreSymlink(path: Buffer, target: Buffer, node: TreeNode): Promise<boolean> {
  const st = await lstatOrNull(path);
  if (st?.isSymbolicLink() && sameMtime(st, node.mtime)) {
    if (Buffer.compare(await readlink(path, { encoding: "buffer" }), target) === 0) return false;
  }
  if (st) await removeEntry(path, st);
  await symlink(target, path);
  if (isRoot) await lchown(path, node.uid, node.gid).catch(() => {});
  await setPathTimes(path, node.mtime, true).catch(() => {});
  return true;
}

export { isRoot };
