import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  compress,
  compressionLevel,
  decompress,
  frameContentSize,
} from "../../../src/engine/repository/compression.ts";
import { IntegrityError } from "../../../src/util/errors.ts";

const MiB = 1024 * 1024;
const text = (n: number) =>
  new TextEncoder().encode("all work and no play makes jack a dull boy\n".repeat(n / 43 + 1)).subarray(0, n);

/** Byte equality without vitest's element-by-element deep comparison (seconds for a MiB). */
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);

describe("compression", () => {
  it("maps modes to zstd levels", () => {
    expect([
      compressionLevel("off"),
      compressionLevel("auto"),
      compressionLevel("max"),
      compressionLevel(7),
    ]).toEqual([0, 3, 19, 7]);
    expect(() => compressionLevel(0)).toThrow();
    expect(() => compressionLevel(2.5)).toThrow();
  });

  it.each([
    ["large random", () => new Uint8Array(randomBytes(MiB)), 0],
    ["small random", () => new Uint8Array(randomBytes(1000)), 0],
    ["large text", () => text(MiB), 1],
    ["text then random", () => Buffer.concat([text(MiB / 2), randomBytes(MiB / 2)]), 1],
    // The incompressibility probe samples the whole blob, not just its random start.
    ["random then text", () => Buffer.concat([randomBytes(MiB / 2), text(MiB / 2)]), 1],
    ["mostly random, text at the end", () => Buffer.concat([randomBytes((MiB * 3) / 4), text(MiB / 4)]), 1],
  ] as const)("stores %s compressed only when it shrinks", (_label, make, expected) => {
    const plain = new Uint8Array(make());
    const { data, compression } = compress(plain, 3);
    expect(compression).toBe(expected);
    if (compression === 1) expect(data.byteLength).toBeLessThan(plain.byteLength);
    expect(same(decompress(data, compression, plain.byteLength), plain)).toBe(true);
  });

  it("rejects a frame of the wrong size or a broken frame", () => {
    const { data } = compress(text(10_000), 3);
    expect(() => decompress(data, 1, 9_999)).toThrow(IntegrityError);
    expect(() => decompress(new Uint8Array([1, 2, 3, 4]), 1, 10)).toThrow(IntegrityError);
  });

  it("reads the content size our frames declare, for each width of the size field", () => {
    for (const n of [100, 255, 256, 65_791, 65_792, MiB + 1]) {
      const { data, compression } = compress(text(n), 3);
      expect(compression).toBe(1);
      expect(frameContentSize(data)).toBe(n);
      expect(same(decompress(data, 1, n), text(n))).toBe(true);
    }
    expect(frameContentSize(new Uint8Array([1, 2, 3, 4, 5, 6]))).toBe(-1);
    expect(frameContentSize(new Uint8Array([0x28, 0xb5, 0x2f, 0xfd]))).toBe(-1);
    // A header without a size field (not single-segment, size flag 0): unknown.
    expect(frameContentSize(new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58, 0, 0]))).toBe(-1);
  });

  it("never trusts a frame header that lies about its size", () => {
    const n = 10_000;
    const { data } = compress(text(n), 3);
    const at = frameSizeOffset(data);
    // Claims 9,999 bytes (what the index says) but holds 10,000.
    const short = data.slice();
    new DataView(short.buffer).setUint16(at, 9_999 - 256, true);
    expect(frameContentSize(short)).toBe(9_999);
    expect(() => decompress(short, 1, 9_999)).toThrow(IntegrityError);
    // Claims 65,000 bytes: not what the index says, so the bounded decoder runs and refuses it.
    const long = data.slice();
    new DataView(long.buffer).setUint16(at, 65_000 - 256, true);
    expect(() => decompress(long, 1, n)).toThrow(IntegrityError);
  });
});

/** Where the 2-byte size field of a frame of 256..65,791 bytes starts (after magic, descriptor, window, dictionary id). */
function frameSizeOffset(frame: Uint8Array): number {
  const fhd = frame[4]!;
  expect(fhd >> 6).toBe(1);
  return 5 + (fhd & 0x20 ? 0 : 1) + [0, 1, 2, 4][fhd & 0x03]!;
}
