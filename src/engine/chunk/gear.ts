/**
 * The gear table of the content-defined chunker: 256 pseudo-random 32-bit values derived from the
 * repository's secret chunker seed, so chunk boundaries (and thus chunk sizes) reveal nothing about
 * the content to someone without the seed.
 */
import { createHash } from "node:crypto";

/** SHA-256 in counter mode over the seed: deterministic, same table on every machine. */
export function gearTable(seedHex: string): Int32Array {
  const seed = Buffer.from(seedHex, "hex");
  const table = new Int32Array(256);
  for (let block = 0; block < 32; block++) {
    const h = createHash("sha256").update("backapp gear table\0").update(seed).update(String(block)).digest();
    for (let j = 0; j < 8; j++) table[block * 8 + j] = h.readInt32LE(j * 4);
  }
  return table;
}

/** A mask of `bits` one-bits taken from the top of the 32-bit hash (those depend on the most bytes). */
export function topMask(bits: number): number {
  const b = Math.max(1, Math.min(31, bits));
  return (~0 << (32 - b)) | 0;
}

/**
 * The hot loop, kept small and monomorphic over a Uint8Array so the JIT compiles it well. Scans
 * buf[pos..end), the first part (up to `normal`) with the strict mask, the rest with the loose one
 * (FastCDC normalized chunking). Returns the cut position (exclusive) or -1, keeping the hash in
 * state[0] so a later call resumes where this one stopped.
 */
export function gearScan(
  buf: Uint8Array,
  gear: Int32Array,
  pos: number,
  end: number,
  normal: number,
  maskS: number,
  maskL: number,
  state: Int32Array,
): number {
  let h = state[0]!;
  const mid = Math.min(normal, end);
  for (; pos < mid; pos++) {
    h = ((h << 1) + gear[buf[pos]!]!) | 0;
    if ((h & maskS) === 0) return pos + 1;
  }
  for (; pos < end; pos++) {
    h = ((h << 1) + gear[buf[pos]!]!) | 0;
    if ((h & maskL) === 0) return pos + 1;
  }
  state[0] = h;
  return -1;
}
