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
import {
  chmod,
  chown,
  lchown,
  lstat,
  lutimes,
  mkdir,
  open,
  readlink,
  rm,
  symlink,
  unlink,
  utimes,
} from "node:fs/promises";
import type { TreeNode } from "../types.ts";

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

/** Seconds (float) for utimes from a nanosecond decimal string. */
export function mtimeSeconds(ns: string): number {
  const n = BigInt(ns);
  return Number(n / 1_000_000_000n) + Number(n % 1_000_000_000n) / 1e9;
}

/** utimes keeps about a microsecond of a nanosecond mtime; compare within that. */
export function sameMtime(st: BigIntStats, ns: string): boolean {
  const d = st.mtimeNs - BigInt(ns);
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

/** Owner (as root, best effort), mode and times of a directory, after its contents. */
export async function applyDirMeta(path: Buffer, node: TreeNode): Promise<void> {
  if (isRoot) await chown(path, node.uid, node.gid).catch(() => {});
  await chmod(path, node.mode & 0o7777);
  const t = mtimeSeconds(node.mtime);
  await utimes(path, t, t);
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
  const t = mtimeSeconds(node.mtime);
  await lutimes(path, t, t).catch(() => {});
  return true;
}

export { isRoot };
