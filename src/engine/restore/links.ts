/**
 * Hard links, as restic restores them: files of the restored selection that were one file at
 * backup time (same non-zero device and inode) are written once, and the others are made hard
 * links to it. Device and inode identify a file within one snapshot (the backup stats every file
 * in one walk), so no link count is stored; a member whose node differs from the first one's
 * (content, size, mtime, mode, owner: an inode reused during the backup, or folded numbers that
 * collide) is restored as a file of its own, so a link never changes what a path holds.
 *
 * Memory: the counting pass records a 53-bit hash of each selected file's (device, inode) once;
 * only hashes seen twice are kept for the walk, and the walk keeps groups only for those. A hash
 * collision just makes a file a candidate that finds no partner.
 */
import type { BigIntStats } from "node:fs";
import {
  closeSync,
  constants,
  linkSync,
  openSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import type { TreeNode } from "../types.ts";
import { lstatAt, tempName } from "./fs-ops.ts";
import { applyFileMeta, createForWrite, type FileJob, sameFileMeta } from "./sink.ts";

/** Files restored as one: the first met in the walk is written, the followers linked to it. */
export interface LinkGroup {
  leader: FileJob;
  /** null until the leader's batch reports it; then whether it is in place. */
  leaderOk: boolean | null;
  followers: FileJob[];
}

function linkable(node: TreeNode): boolean {
  return node.type === "file" && node.device > 0 && node.inode > 0;
}

const TWO32 = 2 ** 32;

/** A 53-bit mix of (device, inode); equal pairs give equal keys, collisions are harmless. */
export function linkKey(device: number, inode: number): number {
  let h1 = Math.imul(inode >>> 0, 0x9e3779b1) ^ Math.imul(Math.floor(inode / TWO32) >>> 0, 0x85ebca6b);
  let h2 = Math.imul(device >>> 0, 0xc2b2ae35) ^ Math.imul(Math.floor(device / TWO32) >>> 0, 0x27d4eb2f);
  h1 ^= Math.imul(h2 ^ (h1 >>> 15), 0x165667b1);
  h2 ^= Math.imul(h1 ^ (h2 >>> 13), 0x9e3779b1);
  return (h1 >>> 0) * 2 ** 21 + ((h2 >>> 0) >>> 11);
}

/** The counting pass's record: which (device, inode) hashes occur more than once. */
export class LinkCounter {
  private once: Set<number> | null = new Set();
  private readonly twice = new Set<number>();

  /** Records a selected file. */
  add(node: TreeNode): void {
    if (!linkable(node) || !this.once) return;
    const k = linkKey(node.device, node.inode);
    if (this.once.has(k)) this.twice.add(k);
    else this.once.add(k);
  }

  /** Ends the count (freeing the keys met once) and gives the groups to fill during the walk. */
  seal(): LinkGroups {
    this.once = null;
    return new LinkGroups(this.twice);
  }
}

function sameFile(a: TreeNode, b: TreeNode): boolean {
  if (a.size !== b.size || a.mtime !== b.mtime || a.mode !== b.mode) return false;
  if (a.uid !== b.uid || a.gid !== b.gid) return false;
  const x = a.content ?? [];
  const y = b.content ?? [];
  return x.length === y.length && x.every((id, i) => id === y[i]);
}

export class LinkGroups {
  private readonly groups = new Map<string, LinkGroup>();

  constructor(private readonly candidates: Set<number>) {}

  /**
   * Decides for a file met by the walk: "write" (restore it; it may become a group's leader) or
   * "link" (kept as a follower, linked by linkFollower once its leader is in place).
   */
  route(job: FileJob): "write" | "link" {
    const node = job.node;
    if (!linkable(node) || !this.candidates.has(linkKey(node.device, node.inode))) return "write";
    const key = `${node.device}:${node.inode}`;
    const group = this.groups.get(key);
    if (!group) {
      const g: LinkGroup = { leader: job, leaderOk: null, followers: [] };
      job.group = g;
      this.groups.set(key, g);
      return "write";
    }
    if (!sameFile(group.leader.node, node)) return "write";
    group.followers.push(job);
    return "link";
  }

  /** Groups with followers, in walk order. */
  *withFollowers(): Generator<LinkGroup> {
    for (const g of this.groups.values()) if (g.followers.length > 0) yield g;
  }
}

/** linked: a new link; kept: already correct; copied: the file system refused a link. */
export type LinkResult = "linked" | "kept" | "copied";

/** Errors of link(2) that mean "no hard links here": fall back to a copy. */
const NO_LINKS = new Set(["EXDEV", "EPERM", "EMLINK", "ENOTSUP", "EOPNOTSUPP", "ENOSYS"]);

/**
 * Makes `follower.path` a hard link to the restored `leader.path` (both inside the target). A
 * path already linked to it is left alone; anything else there (a separate file, a link to
 * another file, a symlink, a directory) is replaced through a temporary name, never followed.
 * When the file system refuses links, the leader is copied instead (a separate copy whose size,
 * mtime, mode and owner match is kept, unless `copyAgain`: a verifying restore re-copies and checks
 * it). `link` is link(2), replaceable to exercise the fallback. Throws fs errors.
 */
export function linkFollower(
  leader: FileJob,
  follower: FileJob,
  options: { copyAgain?: boolean; link?: (from: Buffer, to: Buffer) => void } = {},
): LinkResult {
  const link = options.link ?? linkSync;
  const dirs = follower.dirs;
  const src = lstatAt(dirs, leader.path);
  if (!src || !sameFileMeta(src, leader.node)) {
    throw new Error(`hard link source ${leader.display} is not the restored file`);
  }
  const st = lstatAt(dirs, follower.path);
  if (st?.isFile() && st.dev === src.dev && st.ino === src.ino) return "kept";
  const temp = tempName(follower.dir, follower.name);
  dirs.remove(temp);
  try {
    link(...dirs.pair(leader.path, temp));
  } catch (e) {
    if (!NO_LINKS.has((e as NodeJS.ErrnoException).code ?? "")) throw e;
    if (!options.copyAgain && st && sameFileMeta(st, follower.node)) return "kept";
    copyInto(leader, temp, follower.node);
    place(follower, temp, st);
    return "copied";
  }
  const made = lstatAt(dirs, temp);
  if (!made || made.dev !== src.dev || made.ino !== src.ino) {
    unlinkSync(dirs.at(temp));
    throw new Error(`hard link source ${leader.display} changed while linking`);
  }
  place(follower, temp, st);
  return "linked";
}

/** Copies the leader into `temp` through descriptors (never following a symlink at either end). */
function copyInto(leader: FileJob, temp: Buffer, node: TreeNode): void {
  const from = openSync(leader.dirs.at(leader.path), constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const to = createForWrite(leader.dirs, temp);
    try {
      const buf = Buffer.allocUnsafe(1 << 20);
      for (let n = readSync(from, buf); n > 0; n = readSync(from, buf)) {
        for (let off = 0; off < n; ) off += writeSync(to, buf, off, n - off);
      }
      applyFileMeta(to, node);
    } finally {
      closeSync(to);
    }
  } finally {
    closeSync(from);
  }
}

function place(job: FileJob, temp: Buffer, st: BigIntStats | null): void {
  if (st?.isDirectory()) job.dirs.remove(job.path);
  renameSync(...job.dirs.pair(temp, job.path));
}
