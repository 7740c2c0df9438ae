/**
 * Setting a restored entry's mtime to the nanosecond. Node's utimes family takes seconds as a
 * double, which keeps only about a quarter of a microsecond of a present-day time (a file dated
 * x.123000000 came back as x.122999999: off even at millisecond precision), and Bun (1.4) sets the
 * current time instead of a negative numeric time (files from before 1970 came back dated today).
 * So on Linux and macOS the C library's futimens/utimensat are called directly through bun:ffi,
 * with exact timespecs; when that is not available or fails, the Node call with the time as a
 * decimal string (accepted by its TimeLike; keeps the sign) is used, and its error is the one
 * reported.
 */
import { dlopen, FFIType, ptr } from "bun:ffi";
import { futimesSync, lutimesSync, utimesSync } from "node:fs";

interface Libc {
  futimens(fd: number, times: BigInt64Array): boolean;
  /** utimensat(AT_FDCWD, path, times, noFollow ? AT_SYMLINK_NOFOLLOW : 0) === 0 */
  utimensat(path: Buffer, times: BigInt64Array, noFollow: boolean): boolean;
}

const PLATFORM = {
  linux: { lib: "libc.so.6", atFdcwd: -100, noFollow: 0x100 },
  darwin: { lib: "libSystem.B.dylib", atFdcwd: -2, noFollow: 0x20 },
} as const;

function loadLibc(): Libc | null {
  const p = PLATFORM[process.platform as keyof typeof PLATFORM];
  // The timespec layout below (two 64-bit fields) is that of 64-bit Linux and macOS.
  if (!p || (process.arch !== "x64" && process.arch !== "arm64")) return null;
  try {
    const { symbols } = dlopen(p.lib, {
      futimens: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
      utimensat: { args: [FFIType.i32, FFIType.ptr, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
    });
    return {
      futimens: (fd, times) => symbols.futimens(fd, ptr(times)) === 0,
      utimensat: (path, times, noFollow) =>
        symbols.utimensat(
          p.atFdcwd,
          ptr(Buffer.concat([path, Buffer.from([0])])),
          ptr(times),
          noFollow ? p.noFollow : 0,
        ) === 0,
    };
  } catch {
    return null;
  }
}

const libc: Libc | null = loadLibc();

/** Two struct timespec (atime = mtime) for a nanosecond time; 64-bit time_t and long. */
export function timespecs(ns: string): BigInt64Array {
  const n = BigInt(ns);
  let sec = n / 1_000_000_000n;
  let nsec = n % 1_000_000_000n;
  if (nsec < 0n) {
    sec -= 1n;
    nsec += 1_000_000_000n;
  }
  return BigInt64Array.of(sec, nsec, sec, nsec);
}

/** "-315619199.876543211": seconds as a decimal string, for the Node fallback. */
export function secondsString(ns: string): string {
  const n = BigInt(ns);
  const abs = n < 0n ? -n : n;
  const frac = (abs % 1_000_000_000n).toString().padStart(9, "0");
  return `${n < 0n ? "-" : ""}${abs / 1_000_000_000n}.${frac}`;
}

/** True when mtimes are set to the nanosecond here (else to about a microsecond). */
export const exactTimes = libc !== null;

/** Sets atime and mtime of an open file to `ns`. Throws the fs error. */
export function setFdTimes(fd: number, ns: string): void {
  if (libc?.futimens(fd, timespecs(ns))) return;
  const t = secondsString(ns);
  futimesSync(fd, t, t);
}

/**
 * Sets atime and mtime of `path` (a symlink itself when `noFollow`). Synchronous: the path may
 * name a held descriptor (see target-dirs.ts). Throws the fs error.
 */
export function setPathTimes(path: Buffer, ns: string, noFollow: boolean): void {
  if (libc?.utimensat(path, timespecs(ns), noFollow)) return;
  const t = secondsString(ns);
  if (noFollow) lutimesSync(path, t, t);
  else utimesSync(path, t, t);
}
