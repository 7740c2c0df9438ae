/**
 * Extended attributes (file capabilities, POSIX ACLs, SELinux labels, macOS metadata) through the
 * C library, as node:fs has no xattr API: bun:ffi calls to llistxattr/lgetxattr/lsetxattr on
 * Linux and listxattr/getxattr/setxattr with XATTR_NOFOLLOW on macOS, so a symlink's own
 * attributes are read and written, never its target's. Elsewhere (or when the library cannot be
 * loaded) `xattrSupported` is false and nothing is read or written.
 */
import { dlopen, FFIType, ptr, read } from "bun:ffi";

export interface Xattr {
  name: string;
  /** The raw value. */
  value: Uint8Array;
}

interface Calls {
  list(path: Buffer, buf: Buffer | null, size: number): number;
  get(path: Buffer, name: Buffer, buf: Buffer | null, size: number): number;
  set(path: Buffer, name: Buffer, value: Buffer, size: number): number;
  errno(): number;
}

const cstr = (b: Buffer | string) => Buffer.concat([Buffer.from(b), Buffer.from([0])]);
const p = (b: Buffer | null) => (b && b.length > 0 ? ptr(b) : null);

/**
 * Paths go to the C library through one scratch buffer: a fresh NUL-terminated copy per call cost
 * more than the system call on a backup that lists the attributes of every file. Calls are
 * synchronous, so one buffer per thread is enough.
 */
const scratch = new Uint8Array(4097);
function pathPtr(path: Buffer): number {
  if (path.length >= scratch.length) return ptr(cstr(path));
  scratch.set(path);
  scratch[path.length] = 0;
  return ptr(scratch);
}

function load(): Calls | null {
  if (process.arch !== "x64" && process.arch !== "arm64") return null;
  try {
    if (process.platform === "linux") {
      const { symbols: s } = dlopen("libc.so.6", {
        llistxattr: { args: [FFIType.ptr, FFIType.ptr, FFIType.u64], returns: FFIType.i64 },
        lgetxattr: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.u64], returns: FFIType.i64 },
        lsetxattr: {
          args: [FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.u64, FFIType.i32],
          returns: FFIType.i32,
        },
        __errno_location: { args: [], returns: FFIType.ptr },
      });
      return {
        list: (path, buf, size) => Number(s.llistxattr(pathPtr(path), p(buf), size)),
        get: (path, name, buf, size) => Number(s.lgetxattr(pathPtr(path), ptr(cstr(name)), p(buf), size)),
        set: (path, name, value, size) => s.lsetxattr(ptr(cstr(path)), ptr(cstr(name)), p(value), size, 0),
        errno: () => read.i32(s.__errno_location()!, 0),
      };
    }
    if (process.platform === "darwin") {
      const NOFOLLOW = 0x0001;
      const { symbols: s } = dlopen("libSystem.B.dylib", {
        listxattr: { args: [FFIType.ptr, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i64 },
        getxattr: {
          args: [FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.u64, FFIType.u32, FFIType.i32],
          returns: FFIType.i64,
        },
        setxattr: {
          args: [FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.u64, FFIType.u32, FFIType.i32],
          returns: FFIType.i32,
        },
        __error: { args: [], returns: FFIType.ptr },
      });
      return {
        list: (path, buf, size) => Number(s.listxattr(pathPtr(path), p(buf), size, NOFOLLOW)),
        get: (path, name, buf, size) =>
          Number(s.getxattr(pathPtr(path), ptr(cstr(name)), p(buf), size, 0, NOFOLLOW)),
        set: (path, name, value, size) =>
          s.setxattr(ptr(cstr(path)), ptr(cstr(name)), p(value), size, 0, NOFOLLOW),
        errno: () => read.i32(s.__error()!, 0),
      };
    }
  } catch {
    // No usable C library: extended attributes are neither read nor written.
  }
  return null;
}

const calls = load();

/** True when this platform's extended attributes can be read and written. */
export const xattrSupported = calls !== null;

const COMMON: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  7: "E2BIG",
  13: "EACCES",
  28: "ENOSPC",
  34: "ERANGE",
};
const ERRNO: Record<number, string> =
  process.platform === "darwin"
    ? { ...COMMON, 45: "ENOTSUP", 93: "ENOATTR" }
    : { ...COMMON, 61: "ENODATA", 95: "EOPNOTSUPP" };

export class XattrError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function fail(what: string): never {
  const n = calls?.errno() ?? 0;
  const code = ERRNO[n] ?? `errno ${n}`;
  throw new XattrError(code, `${what}: ${code}`);
}

/**
 * The extended attributes of `path` (a symlink's own), sorted by name; [] when it has none or
 * the file system has no xattrs. XattrError for other failures (permission denied).
 */
export function readXattrs(path: Buffer): Xattr[] {
  if (!calls) return [];
  let size = calls.list(path, null, 0);
  if (size < 0) {
    const code = ERRNO[calls.errno()];
    if (code === "EOPNOTSUPP" || code === "ENOTSUP") return [];
    fail("list extended attributes");
  }
  if (size === 0) return [];
  const names = Buffer.alloc(size);
  size = calls.list(path, names, names.length);
  if (size < 0) fail("list extended attributes");
  const out: Xattr[] = [];
  for (const raw of names.subarray(0, size).toString("utf8").split("\0")) {
    if (raw === "") continue;
    const name = Buffer.from(raw);
    let n = calls.get(path, name, null, 0);
    if (n < 0) {
      if (ERRNO[calls.errno()] === "ENODATA" || ERRNO[calls.errno()] === "ENOATTR") continue; // removed meanwhile
      fail(`read extended attribute ${raw}`);
    }
    const value = Buffer.alloc(n);
    n = n === 0 ? 0 : calls.get(path, name, value, value.length);
    if (n < 0) fail(`read extended attribute ${raw}`);
    out.push({ name: raw, value: new Uint8Array(value.subarray(0, n)) });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Sets one attribute on `path` (a symlink's own). XattrError naming the refusal (EOPNOTSUPP, EPERM). */
export function writeXattr(path: Buffer, name: string, value: Uint8Array): void {
  if (!calls) throw new XattrError("ENOTSUP", "extended attributes are not supported here");
  const v = Buffer.from(value);
  if (calls.set(path, Buffer.from(name), v, v.length) !== 0) fail(`set extended attribute ${name}`);
}
