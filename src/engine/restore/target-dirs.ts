/**
 * Every file system call of a restore reaches the target through this, so a folder of the target
 * that another process swaps for a symlink mid-restore never sends a write outside it.
 *
 * Node and Bun have no openat(), but on Linux `/proc/self/fd/<fd>/<name>` resolves <name> inside
 * the directory the descriptor refers to, whatever has happened to its path since. So the target
 * is opened once (O_DIRECTORY|O_NOFOLLOW, after realpath: the user may name it through a symlink),
 * and each folder below it is opened from its parent's descriptor with O_DIRECTORY|O_NOFOLLOW: a
 * component that is a symlink (or a file) by then fails with an error naming the path, and one
 * swapped after it was opened is still reached through the descriptor (its old inode, never the
 * link). Descriptors are kept in a bounded LRU, so a file costs no extra syscall in the common case.
 *
 * Where /proc/self/fd does not work (macOS, a container without /proc), calls use the real paths
 * and each folder is verified: its realpath must be the path it was reached by (no symlink on the
 * way) and lstat must still give the device and inode it had the first time; a file opened for
 * writing is checked again after the open (fstat against lstat). That narrows the race to a window
 * instead of closing it; any mismatch refuses the entry with an error naming the path.
 *
 * Paths handed out are valid until the next call into this object: use them at once, in a
 * synchronous call (an asynchronous one could run after the descriptor was closed and its number
 * reused).
 */
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  unlinkSync,
} from "node:fs";
import { resolve } from "node:path";
import { ValidationError } from "../../util/errors.ts";
import { atCalls } from "./at-calls.ts";

const SLASH = 0x2f;
const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

export type TargetMode = "proc" | "verify";

function procPath(fd: number, name?: Buffer): Buffer {
  const dir = Buffer.from(`/proc/self/fd/${fd}`);
  return name ? Buffer.concat([dir, Buffer.from("/"), name]) : dir;
}

function code(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? "";
}

/** The error of a folder that is no longer a real folder of the target. */
export function notAFolder(path: Buffer, cause?: unknown): Error {
  const why = cause ? ` (${code(cause) || String(cause)})` : "";
  return new Error(
    `${path.toString()} is no longer a folder of the restore target (replaced by a symlink or file?)${why}: nothing written through it`,
    { cause },
  );
}

export class TargetDirs {
  /** Folder path (latin1 of its bytes) → descriptor (proc mode) or "dev:ino" (verify mode). */
  private readonly cache = new Map<string, number | string>();
  private readonly pinned = new Set<string>();
  /** Folders this object made (mode 0700 until their metadata is applied): empty but for what we put there. */
  private readonly made = new Set<string>();
  private closed = false;

  constructor(
    /** The target's real path: every path given to this object starts with it. */
    readonly root: Buffer,
    /** The target folder's descriptor (closed by close()). */
    readonly fd: number,
    readonly mode: TargetMode,
    private readonly limit = 128,
  ) {}

  /** A path reaching `abs` (a path below the root) through held folders. */
  at(abs: Buffer): Buffer {
    const cut = this.split(abs);
    const parent = abs.subarray(0, cut);
    if (this.mode === "verify") {
      this.verifyDir(parent);
      return abs;
    }
    return procPath(this.dirFd(parent), abs.subarray(cut + 1));
  }

  /** Paths for two entries used in one call (rename, link): the first's folder stays open. */
  pair(a: Buffer, b: Buffer): [Buffer, Buffer] {
    const first = this.at(a);
    const key = abs2key(a.subarray(0, this.split(a)));
    this.pinned.add(key);
    try {
      return [first, this.at(b)];
    } finally {
      this.pinned.delete(key);
    }
  }

  /** Opens the file at `abs` (openat on its held folder where possible). Throws fs errors. */
  open(abs: Buffer, flags: number, mode = 0o666): number {
    if (this.mode === "verify" || !atCalls) return openSync(this.at(abs), flags, mode);
    const cut = this.split(abs);
    return atCalls.open(this.dirFd(abs.subarray(0, cut)), abs.subarray(cut + 1), flags, mode);
  }

  /** Renames `from` to `to` (both below the root), through held folders. Throws fs errors. */
  rename(from: Buffer, to: Buffer): void {
    if (this.mode === "verify" || !atCalls) {
      renameSync(...this.pair(from, to));
      return;
    }
    const a = this.split(from);
    const b = this.split(to);
    const key = abs2key(from.subarray(0, a));
    const fromDir = this.dirFd(from.subarray(0, a));
    this.pinned.add(key);
    try {
      atCalls.rename(fromDir, from.subarray(a + 1), this.dirFd(to.subarray(0, b)), to.subarray(b + 1));
    } finally {
      this.pinned.delete(key);
    }
  }

  /** A path for the folder `abs` itself (for readdir): the root or a folder below it. */
  dirPath(abs: Buffer): Buffer {
    if (this.mode === "verify") {
      this.verifyDir(abs);
      return abs;
    }
    return procPath(this.dirFd(abs));
  }

  /** In verify mode, checks a file just opened for writing at `abs` is the entry there. */
  opened(abs: Buffer, fd: number): void {
    if (this.mode === "proc") return;
    const st = fstatSync(fd, { bigint: true });
    const now = lstatSync(abs, { bigint: true, throwIfNoEntry: false });
    if (!now || now.dev !== st.dev || now.ino !== st.ino) throw notAFolder(abs.subarray(0, this.split(abs)));
    this.verifyDir(abs.subarray(0, this.split(abs)));
  }

  /** Makes the folder `abs` (mode 0700; EEXIST is the caller's to handle). */
  mkdir(abs: Buffer): void {
    mkdirSync(this.at(abs), { mode: 0o700 });
    this.made.add(abs2key(abs));
  }

  /**
   * True when the folder holding `abs` was made by this object, so nothing was at `abs` before
   * this restore put it there: a restore of a fresh tree skips the lstat of every file. (The folder
   * is 0700 meanwhile; what another process of the same user plants there still fails safe: the
   * file is created with O_EXCL and renamed over whatever stands in its place, never through it.)
   */
  inMadeFolder(abs: Buffer): boolean {
    return this.made.size > 0 && this.made.has(abs2key(abs.subarray(0, this.split(abs))));
  }

  /** Removes the entry at `abs`, a folder with everything in it, never following a symlink. */
  remove(abs: Buffer): void {
    this.forget(abs);
    if (this.mode === "verify") {
      rmSync(this.at(abs), { recursive: true, force: true });
      return;
    }
    const cut = this.split(abs);
    removeAt(this.dirFd(abs.subarray(0, cut)), abs.subarray(cut + 1));
  }

  /** Drops held folders at or below `abs` (it was removed or replaced). */
  forget(abs: Buffer): void {
    const key = abs2key(abs);
    for (const k of this.made) if (k === key || k.startsWith(`${key}/`)) this.made.delete(k);
    for (const [k, v] of this.cache) {
      if (k !== key && !k.startsWith(`${key}/`)) continue;
      this.cache.delete(k);
      if (typeof v === "number") closeSync(v);
    }
  }

  /** Closes every descriptor held. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const v of this.cache.values()) if (typeof v === "number") closeSync(v);
    this.cache.clear();
    closeSync(this.fd);
  }

  /** Index of the slash before the last component; throws for a path not below the root. */
  private split(abs: Buffer): number {
    const cut = abs.lastIndexOf(SLASH);
    const below = cut >= this.root.length && abs.subarray(0, this.root.length).equals(this.root);
    if (!below || (this.root.length > 0 && abs[this.root.length] !== SLASH) || cut === abs.length - 1) {
      throw new Error(`internal: ${abs.toString()} is not inside the restore target`);
    }
    return cut;
  }

  private dirFd(abs: Buffer): number {
    if (abs.length === this.root.length) return this.fd;
    const key = abs2key(abs);
    const hit = this.cache.get(key);
    if (typeof hit === "number") {
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit;
    }
    const cut = this.split(abs);
    const parent = this.dirFd(abs.subarray(0, cut));
    let fd: number;
    try {
      fd = openSync(procPath(parent, abs.subarray(cut + 1)), DIR_FLAGS);
    } catch (e) {
      throw notAFolder(abs, e);
    }
    this.cache.set(key, fd);
    this.evict(key);
    return fd;
  }

  /** Closes the least recently used folders past the limit, never a pinned one or `keep`. */
  private evict(keep: string): void {
    for (const [k, v] of this.cache) {
      if (this.cache.size <= this.limit) return;
      if (k === keep || this.pinned.has(k)) continue;
      this.cache.delete(k);
      if (typeof v === "number") closeSync(v);
    }
  }

  /** Verify mode: `abs` is a real folder reached without a symlink, the same one as before. */
  private verifyDir(abs: Buffer): void {
    const st = lstatSync(abs, { bigint: true, throwIfNoEntry: false });
    if (!st?.isDirectory()) throw notAFolder(abs);
    const id = `${st.dev}:${st.ino}`;
    const key = abs2key(abs);
    const seen = this.cache.get(key);
    if (seen === id) return;
    if (seen !== undefined) throw notAFolder(abs);
    let real: Buffer;
    try {
      real = realpathSync.native(abs, { encoding: "buffer" });
    } catch (e) {
      throw notAFolder(abs, e);
    }
    if (!real.equals(abs)) throw notAFolder(abs);
    this.cache.set(key, id);
  }
}

function abs2key(abs: Buffer): string {
  return abs.toString("latin1");
}

/** Removes `name` in the folder `dirFd` (recursively), through descriptors only. */
function removeAt(dirFd: number, name: Buffer): void {
  const path = procPath(dirFd, name);
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (!st) return;
  if (!st.isDirectory()) {
    unlinkSync(path);
    return;
  }
  const fd = openSync(path, DIR_FLAGS);
  try {
    for (const child of readdirSync(procPath(fd), { encoding: "buffer" })) removeAt(fd, child);
  } finally {
    closeSync(fd);
  }
  rmdirSync(path);
}

/** True when /proc/self/fd/<fd> reaches the folder `fd` is open on. */
function procWorks(fd: number): boolean {
  try {
    const a = fstatSync(fd, { bigint: true });
    const b = statSync(procPath(fd), { bigint: true });
    return a.dev === b.dev && a.ino === b.ino;
  } catch {
    return false;
  }
}

/**
 * Opens an existing target folder (a symlink to a folder is followed once, here: the user named
 * it). Mode "proc" where /proc/self/fd works, else "verify"; `mode` forces one (tests).
 */
export function openTargetDirs(target: string | Buffer, mode?: TargetMode): TargetDirs {
  const real = realpathSync.native(target, { encoding: "buffer" });
  const fd = openSync(real, DIR_FLAGS);
  const root = real.length === 1 ? Buffer.alloc(0) : real;
  return new TargetDirs(root, fd, mode ?? (procWorks(fd) ? "proc" : "verify"));
}

/** Opens the folder `abs` below `outer`'s root as a target of its own (a staging folder). */
export function openInside(outer: TargetDirs, abs: Buffer): TargetDirs {
  let fd: number;
  try {
    fd = openSync(outer.at(abs), DIR_FLAGS);
  } catch (e) {
    throw notAFolder(abs, e);
  }
  if (outer.mode === "verify") {
    const st = fstatSync(fd, { bigint: true });
    const now = lstatSync(abs, { bigint: true, throwIfNoEntry: false });
    if (now?.dev !== st.dev || now?.ino !== st.ino) {
      closeSync(fd);
      throw notAFolder(abs);
    }
  }
  return new TargetDirs(abs, fd, outer.mode);
}

/** True when `path` is `root` or below it. */
function inside(path: string, root: string): boolean {
  const r = root.replace(/\/+$/, "");
  return r === "" || path === r || path.startsWith(`${r}/`);
}

/**
 * Throws unless the folder open as `dirs` is inside one of `roots` (as written or resolved): the
 * folder's own path, read from its descriptor where /proc works, so a target turned into a symlink
 * after a server checked it (a queued restore) is caught here, when it is opened.
 */
function checkWithin(dirs: TargetDirs, fd: number, target: string, roots: string[]): void {
  const real = (dirs.mode === "proc" ? readlinkSync(procPath(fd)) : dirs.root.toString()) || "/";
  const resolved = roots.flatMap((r) => {
    try {
      return [r, realpathSync.native(r)];
    } catch {
      return [r];
    }
  });
  if (resolved.some((r) => inside(real, r))) return;
  throw new ValidationError(
    `cannot restore into ${target}: it leads to ${real}, outside the allowed folders`,
  );
}

/**
 * Creates (if missing) and opens the target folder; ValidationError naming it when it cannot, or
 * when `within` is given and the folder opened is not inside one of those folders.
 */
export function openTarget(target: string, mode?: TargetMode, within?: string[]): TargetDirs {
  const path = resolve(target);
  let dirs: TargetDirs;
  try {
    mkdirSync(path, { recursive: true });
    dirs = openTargetDirs(path, mode);
  } catch (e) {
    const c = code(e);
    const why = c === "EEXIST" || c === "ENOTDIR" ? "it is not a folder" : c || String(e);
    throw new ValidationError(`cannot restore into ${path}: ${why}`, { cause: e });
  }
  if (within) {
    try {
      checkWithin(dirs, dirs.fd, path, within);
    } catch (e) {
      dirs.close();
      throw e;
    }
  }
  return dirs;
}

export { code as errnoCode };
