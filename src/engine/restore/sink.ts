/**
 * One file being restored from blobs that arrive in pack order, not file order: each blob is
 * written at its offset (positional writes) into the temporary name, created on the first write
 * with O_EXCL|O_NOFOLLOW through the target's held folder descriptors (target-dirs.ts). When the
 * last blob lands, mode, owner and times are applied and the file is renamed into place. Handles
 * of unfinished files are closed and reopened (never truncated again) past a budget, so a restore
 * holds few descriptors.
 *
 * The file system calls here are synchronous on purpose: a restore of many small files is a
 * handful of cheap syscalls per file, and sending each through the thread pool costs more (thread
 * wake-ups, event-loop round trips) than the call itself; measured on 20k files it dominated the
 * restore. Each call is short (a write of at most one blob into the page cache).
 */
import {
  type BigIntStats,
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  ftruncateSync,
  unlinkSync,
} from "node:fs";
import { IntegrityError } from "../../util/errors.ts";
import type { Repository, TreeNode } from "../types.ts";
import { ASYNC_WRITE_MIN, writeBlob, writeBlobSync } from "./blob-write.ts";
import { isRoot, lstatAt, sameMtime, tempName } from "./fs-ops.ts";
import type { LinkGroup } from "./links.ts";
import { errnoCode, type TargetDirs } from "./target-dirs.ts";
import { setFdTimes } from "./times.ts";
import type { OverwriteMode } from "./types.ts";
import { fileMatches } from "./verify.ts";

/** A file of the snapshot to restore at `path` (inside directory `dir`). */
export interface FileJob {
  /** The target's folders: every call on `dir` and `path` goes through it. */
  dirs: TargetDirs;
  node: TreeNode;
  dir: Buffer;
  name: Buffer;
  path: Buffer;
  display: string;
  /** Set by the skip check: a directory sits at `path` and must go before the rename. */
  dirInTheWay?: boolean;
  /** Set for a big file restored a slice of blobs per batch (bounded plan memory). */
  segment?: Segment;
  /** Set when other files of the restore are hard links to this one (see links.ts). */
  group?: LinkGroup;
}

/** Blobs [first, first+count) of a file; the segments of one file share `state`, in order. */
export interface Segment {
  first: number;
  count: number;
  state: { sink: FileSink | null; offset: number; done: boolean };
}

/** Counts handles kept open for unfinished files; past the limit, handles are closed after use. */
export class HandleBudget {
  open = 0;
  constructor(readonly limit: number) {}
}

// O_EXCL: a new inode every time, so a hard link planted under the temporary name (to a file
// outside the target) is replaced, never truncated or written.
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const REOPEN_FLAGS = constants.O_WRONLY | constants.O_NOFOLLOW;

/**
 * Creates `path` (below dirs' root) for writing, replacing whatever is there (a temporary file
 * left by an interrupted run, a symlink, a directory). Throws fs errors.
 */
export function createForWrite(dirs: TargetDirs, path: Buffer): number {
  let fd: number;
  try {
    fd = dirs.open(path, CREATE_FLAGS, 0o600);
  } catch (e) {
    if (errnoCode(e) !== "EEXIST") throw e;
    dirs.remove(path);
    fd = dirs.open(path, CREATE_FLAGS, 0o600);
  }
  try {
    dirs.opened(path, fd);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  return fd;
}

/** Owner (as root, best effort), mode and times of an open file. Throws fs errors. */
export function applyFileMeta(fd: number, node: TreeNode): void {
  if (isRoot) {
    try {
      fchownSync(fd, node.uid, node.gid);
    } catch {
      // best effort, as for every owner change
    }
  }
  fchmodSync(fd, node.mode & 0o7777);
  setFdTimes(fd, node.mtime);
}

export class FileSink {
  /** Blob writes still to come. */
  remaining: number;
  failed = false;
  /** Set once the file was reported as started. */
  announced = false;
  private fd: number | null = null;
  private created = false;
  /** Inode of the temporary file, noted when its handle is closed early: a reopen must find it. */
  private ino: bigint | null = null;
  /** A run of zeros was left unwritten (a hole): finish sets the length. */
  private holes = false;
  /** Writes running on the I/O threads: the handle must stay open (its number is not reused). */
  private writing = 0;
  /** Abandoned while writes ran: the last of them closes and removes the file. */
  private abandonWhenIdle = false;
  private readonly temp: Buffer;

  constructor(
    readonly job: FileJob,
    writes: number,
    private readonly handles: HandleBudget,
  ) {
    this.remaining = writes;
    this.temp = tempName(job.dir, job.name);
  }

  private handle(): number {
    if (this.fd !== null) return this.fd;
    this.fd = this.created ? this.reopen() : createForWrite(this.job.dirs, this.temp);
    this.created = true;
    this.handles.open++;
    return this.fd;
  }

  /** Opens the temporary file again; refuses another inode swapped in under its name. */
  private reopen(): number {
    const fd = this.job.dirs.open(this.temp, REOPEN_FLAGS);
    if (fstatSync(fd, { bigint: true }).ino !== this.ino) {
      closeSync(fd);
      throw new Error(`${this.temp.toString()} was replaced during the restore`);
    }
    return fd;
  }

  private closeHandle(): void {
    const fd = this.fd;
    if (fd === null) return;
    this.fd = null;
    this.handles.open--;
    try {
      if (this.remaining > 0) this.ino = fstatSync(fd, { bigint: true }).ino;
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Writes `data` at `offset`; true when this was the file's last write. A big blob is written
   * from the I/O threads (a promise; `data` must stay untouched until it settles). Throws fs errors.
   */
  write(data: Uint8Array, offset: number): boolean | Promise<boolean> {
    if (this.failed) return false;
    const fd = this.handle();
    if (data.length < ASYNC_WRITE_MIN) return this.wrote(writeBlobSync(fd, data, offset));
    return this.writeLater(fd, data, offset);
  }

  private async writeLater(fd: number, data: Uint8Array, offset: number): Promise<boolean> {
    this.writing++;
    let holes: boolean;
    try {
      holes = await writeBlob(fd, data, offset);
    } finally {
      this.writing--;
      if (this.abandonWhenIdle && this.writing === 0) this.abandon();
    }
    return this.wrote(holes);
  }

  private wrote(holes: boolean): boolean {
    if (this.failed) return false;
    if (holes) this.holes = true;
    this.remaining--;
    if (this.remaining > 0 && this.writing === 0 && this.handles.open > this.handles.limit)
      this.closeHandle();
    return this.remaining === 0;
  }

  /** Applies metadata and renames into place (after the last write, or at once for no blobs). */
  async finish(repo: Repository, verify: boolean, signal: AbortSignal): Promise<void> {
    const node = this.job.node;
    // The temporary file was created empty, so skipped zero blocks read back as zeros (holes).
    if (this.holes) ftruncateSync(this.handle(), node.size);
    applyFileMeta(this.handle(), node);
    this.closeHandle();
    const dirs = this.job.dirs;
    if (this.job.dirInTheWay && lstatAt(dirs, this.job.path)?.isDirectory()) dirs.remove(this.job.path);
    dirs.rename(this.temp, this.job.path);
    if (verify && !(await fileMatches(repo, dirs, this.job.path, node, signal))) {
      throw new IntegrityError("verification failed: the written file does not match its blobs");
    }
  }

  /** Closes the handle between segments (reopened, not truncated, by the next write). */
  release(): void {
    this.closeHandle();
  }

  /** Gives up on the file: closes and removes the temporary file (once no write runs). Never throws. */
  abandon(): void {
    this.failed = true;
    if (this.writing > 0) {
      this.abandonWhenIdle = true;
      return;
    }
    this.abandonWhenIdle = false;
    try {
      this.closeHandle();
    } catch {
      // already closed or never opened
    }
    if (!this.created) return;
    try {
      unlinkSync(this.job.dirs.at(this.temp));
    } catch {
      // gone already, or its folder is no longer reachable
    }
  }
}

/**
 * True when `st` is a regular file with the node's size, mtime, mode and (as root) owner. A file
 * whose mode or owner differs is rewritten, so a rerun repairs it too.
 */
export function sameFileMeta(st: BigIntStats, node: TreeNode): boolean {
  if (!st.isFile() || Number(st.size) !== node.size || !sameMtime(st, node.mtime)) return false;
  return sameOwnerAndMode(st, node);
}

function sameOwnerAndMode(st: BigIntStats, node: TreeNode): boolean {
  if (Number(st.mode & 0o7777n) !== (node.mode & 0o7777)) return false;
  return !isRoot || (Number(st.uid) === node.uid && Number(st.gid) === node.gid);
}

/**
 * True when the file is to be left as it is: per the overwrite mode, or because the target
 * already holds it ("if-changed", the default: size, mtime, mode and, as root, owner match, and
 * the content, re-chunked locally; so verify adds nothing here).
 * Notes on the job whether a directory must be removed before the file can take its place.
 */
export async function alreadyThere(
  repo: Repository,
  job: FileJob,
  _verify: boolean,
  signal: AbortSignal,
  overwrite: OverwriteMode = "if-changed",
): Promise<boolean> {
  const st = job.dirs.inMadeFolder(job.path) ? null : lstatAt(job.dirs, job.path);
  job.dirInTheWay = st?.isDirectory() === true;
  if (!st || overwrite === "always") return false;
  if (overwrite === "never") return true;
  if (overwrite === "if-newer") return BigInt(job.node.mtime) <= st.mtimeNs;
  if (!sameFileMeta(st, job.node)) return false;
  return await fileMatches(repo, job.dirs, job.path, job.node, signal);
}
