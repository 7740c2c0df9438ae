/**
 * Writing one blob at its offset of a file created empty, leaving holes for a blob of zeros and
 * for aligned zero blocks inside a blob (a sparse file's data chunk often holds some hole too).
 * Small blobs are written synchronously (a thread-pool round trip costs more than the call); big
 * ones through the runtime's I/O threads: on this kind of machine most of a restore's system time
 * is the kernel filling fresh page-cache pages, and that work then runs beside the main thread.
 */
import { write, writeSync } from "node:fs";

/** Blobs at least this big are written from the I/O threads. */
export const ASYNC_WRITE_MIN = 64 * 1024;

/** Inside a blob, zero blocks this big (aligned in the file) are left as holes too. */
const HOLE_BLOCK = 64 * 1024;

let zeros = new Uint8Array(0);

/**
 * True for bytes [from, from+n) all zero (a sparse region, or zeros written out). memcmp against
 * a zero buffer, after the cheap first/last-byte test (which rejects almost all data at once).
 */
function isZero(data: Uint8Array, from: number, n: number): boolean {
  if (data[from] !== 0 || data[from + n - 1] !== 0) return false;
  if (zeros.length < n) zeros = new Uint8Array(n);
  return Buffer.compare(data.subarray(from, from + n), zeros.subarray(0, n)) === 0;
}

/** The byte runs of `data` to write; `skipped` when something was left out (a hole). */
function runsToWrite(data: Uint8Array, offset: number): { runs: Array<[number, number]>; skipped: boolean } {
  if (data.length >= 4096 && isZero(data, 0, data.length)) return { runs: [], skipped: true };
  const runs: Array<[number, number]> = [];
  let from = 0;
  let skipped = false;
  for (
    let b = (HOLE_BLOCK - (offset % HOLE_BLOCK)) % HOLE_BLOCK;
    b + HOLE_BLOCK <= data.length;
    b += HOLE_BLOCK
  ) {
    if (!isZero(data, b, HOLE_BLOCK)) continue;
    if (b > from) runs.push([from, b]);
    from = b + HOLE_BLOCK;
    skipped = true;
  }
  if (data.length > from) runs.push([from, data.length]);
  return { runs, skipped };
}

/** writeSkippingZeros, synchronously. True when something was left unwritten (set the length). */
export function writeBlobSync(fd: number, data: Uint8Array, offset: number): boolean {
  const { runs, skipped } = runsToWrite(data, offset);
  for (const [from, to] of runs) {
    for (let off = from; off < to; ) off += writeSync(fd, data, off, to - off, offset + off);
  }
  return skipped;
}

function writeAt(fd: number, data: Uint8Array, from: number, n: number, position: number): Promise<number> {
  return new Promise((resolve, reject) =>
    write(fd, data, from, n, position, (err, written) => (err ? reject(err) : resolve(written))),
  );
}

/** As writeBlobSync, on the I/O threads; `data` must stay untouched until this settles. */
export async function writeBlob(fd: number, data: Uint8Array, offset: number): Promise<boolean> {
  const { runs, skipped } = runsToWrite(data, offset);
  for (const [from, to] of runs) {
    for (let off = from; off < to; ) off += await writeAt(fd, data, off, to - off, offset + off);
  }
  return skipped;
}
