import { constants, zstdCompressSync, zstdDecompressSync } from "node:zlib";
import { IntegrityError, ValidationError } from "../../util/errors.ts";
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

/** zstd at `level`, kept only when it actually shrinks the data. */
export function compress(plain: Uint8Array, level: number): { data: Uint8Array; compression: Compression } {
  if (level > 0 && plain.byteLength > 0) {
    const z = zstdCompressSync(plain, { params: { [constants.ZSTD_c_compressionLevel]: level } });
    if (z.byteLength < plain.byteLength) {
      return { data: new Uint8Array(z.buffer, z.byteOffset, z.byteLength), compression: 1 };
    }
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
