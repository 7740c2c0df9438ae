/**
 * Allocator tuning that must happen before the runtime starts: Bun's allocator (mimalloc) reads
 * its options from the environment once, at process start, so the only way to set one is to start
 * the program again with it. We do that with execve(2) (same process id, same descriptors, same
 * arguments), once, on Linux, before anything else runs.
 *
 * Why: by default mimalloc hands freed pages back to the kernel at every garbage collection
 * (purge), whatever its purge delay. A backup or restore frees blob-sized buffers (decrypted,
 * decompressed, read) all the time, so every megabyte processed was faulted in afresh: on a 1 GiB
 * restore 447,000 minor page faults, 7.5 s of system time and 6.7 s of user time, against 35,000
 * faults, 1.0 s and 2.4 s with purging off (bench/results/restic-compare-2026-12-01.md). The cost:
 * memory freed after a peak stays mapped (and reused) instead of going back to the kernel.
 *
 * A MIMALLOC_PURGE_DELAY already in the environment is respected (set it to 10 for mimalloc's
 * default behaviour); BACKAPP_ALLOCATOR=default skips the tuning too.
 */
import { readFileSync } from "node:fs";

const PURGE = "MIMALLOC_PURGE_DELAY";

/** A /proc NUL-separated list (argv or environ), each item's bytes kept exactly (latin1). */
function procList(file: string): string[] {
  const items = readFileSync(file).toString("latin1").split("\0");
  if (items.at(-1) === "") items.pop();
  return items;
}

/** A NUL-terminated C string array (char *const[]) and the buffers it points into (kept alive). */
function cStrings(ptr: (b: Uint8Array | BigUint64Array) => number, items: string[]) {
  const bufs = items.map((s) => Buffer.concat([Buffer.from(s, "latin1"), Buffer.alloc(1)]));
  const table = new BigUint64Array(bufs.length + 1);
  bufs.forEach((b, i) => {
    table[i] = BigInt(ptr(b));
  });
  return { bufs, table };
}

/**
 * Restarts the process with the allocator option set, when it is not set yet. Returns only when
 * no restart happened (not Linux, opted out, already set, or execve failed): the program then
 * simply runs with the default allocator behaviour.
 */
export async function tuneAllocator(): Promise<void> {
  if (process.platform !== "linux" || !process.versions.bun) return;
  if (process.env[PURGE] !== undefined || process.env.BACKAPP_ALLOCATOR === "default") return;
  try {
    const { dlopen, FFIType, ptr } = await import("bun:ffi");
    const argv = procList("/proc/self/cmdline");
    const env = procList("/proc/self/environ");
    if (argv.length === 0) return;
    env.push(`${PURGE}=-1`);
    const libc = dlopen("libc.so.6", {
      execve: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
    });
    const exe = Buffer.from("/proc/self/exe\0", "latin1");
    const a = cStrings(ptr, argv);
    const e = cStrings(ptr, env);
    libc.symbols.execve(ptr(exe), ptr(a.table), ptr(e.table));
    // Still here: execve failed; keep the buffers alive until now, then run as we are.
    void [a.bufs, e.bufs];
    libc.close();
  } catch {
    // No FFI or no glibc (musl, a sandbox): run with the allocator's defaults.
  }
}
