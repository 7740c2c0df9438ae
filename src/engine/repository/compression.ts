import { constants, zstdCompressSync, zstdDecompressSync } from "node:zlib";
import { IntegrityError, ValidationError } from "../../util/errors.ts";
import { releaseBuffer } from "../../util/release.ts";
import type { CompressionMode } from "../types.ts";
import type { Compression } from "./pack-format.ts";

/** Maps a CompressionMode to a zstd level; 0 means no compression. */
export function compressionLevel(mode: CompressionMode): number {
  if (mode === "off") return 0;
  if (mode === "auto") return 3;
  if (mode === "max") return 19;
  if (!Number.isInteger(mode) || mode < 1 || mode > 22) {
    throw new ValidationError(`compression level must be off, auto, max or 1..22, not ${mode}`);
  }
  return mode;
}

const PROBE_WINDOWS = 8;
const WINDOW_BYTES = 8 * 1024;
const PROBE_BYTES = PROBE_WINDOWS * WINDOW_BYTES;
const probe = new Uint8Array(PROBE_BYTES);

function zstd(data: Uint8Array, level: number): Buffer {
  return zstdCompressSync(data, { params: { [constants.ZSTD_c_compressionLevel]: level } });
}

/**
 * Large blobs whose sample does not shrink at level 1 are taken as incompressible (media,
 * archives, encrypted files: most bytes of a typical backup), saving the full zstd pass. The
 * sample is 8 windows of 8 KiB spread over the blob, not its first 64 KiB: a chunk that starts
 * in random bytes and continues in text (a disk image, a database) still gets compressed.
 */
function looksIncompressible(plain: Uint8Array): boolean {
  if (plain.byteLength < 4 * PROBE_BYTES) return false;
  const step = Math.floor((plain.byteLength - WINDOW_BYTES) / (PROBE_WINDOWS - 1));
  for (let i = 0; i < PROBE_WINDOWS; i++) {
    probe.set(plain.subarray(i * step, i * step + WINDOW_BYTES), i * WINDOW_BYTES);
  }
  const z = zstd(probe, 1);
  const shrinks = z.byteLength < PROBE_BYTES * 0.98;
  releaseBuffer(z);
  return !shrinks;
}

/** zstd at `level`, kept only when it actually shrinks the data. */
export function compress(plain: Uint8Array, level: number): { data: Uint8Array; compression: Compression } {
  if (level > 0 && plain.byteLength > 0 && !looksIncompressible(plain)) {
    const z = zstd(plain, level);
    if (z.byteLength < plain.byteLength) {
      return { data: new Uint8Array(z.buffer, z.byteOffset, z.byteLength), compression: 1 };
    }
    releaseBuffer(z);
  }
  return { data: plain, compression: 0 };
}

/** Inverse of compress; IntegrityError when the frame is bad or the size is not `rawLength`. */
export function decompress(data: Uint8Array, compression: Compression, rawLength: number): Uint8Array {
  if (compression === 0) return data;
  let out: Buffer;
  try {
    out = zstdDecompressSync(data, { maxOutputLength: Math.max(rawLength, 1) });
  } catch (cause) {
    throw new IntegrityError("zstd frame does not decode", { cause });
  }
  if (out.byteLength !== rawLength) throw new IntegrityError("decompressed size mismatch");
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}
