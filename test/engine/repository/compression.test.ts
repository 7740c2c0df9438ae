import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { compress, compressionLevel, decompress } from "../../../src/engine/repository/compression.ts";
import { IntegrityError } from "../../../src/util/errors.ts";

const MiB = 1024 * 1024;
const text = (n: number) =>
  new TextEncoder().encode("all work and no play makes jack a dull boy\n".repeat(n / 43 + 1)).subarray(0, n);

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
    expect(decompress(data, compression, plain.byteLength)).toEqual(plain);
  });

  it("rejects a frame of the wrong size or a broken frame", () => {
    const { data } = compress(text(10_000), 3);
    expect(() => decompress(data, 1, 9_999)).toThrow(IntegrityError);
    expect(() => decompress(new Uint8Array([1, 2, 3, 4]), 1, 10)).toThrow(IntegrityError);
  });
});
