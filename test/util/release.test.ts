import { describe, expect, it } from "vitest";
import { RELEASE_MIN_BYTES, releaseBuffer, spansWhole } from "../../src/util/release.ts";

describe("releaseBuffer", () => {
  it("frees a large buffer: every view of it becomes empty", () => {
    const buf = new Uint8Array(1024 * 1024).fill(7);
    const other = buf.subarray(10, 20);
    releaseBuffer(buf.subarray(0, 100));
    expect(buf.byteLength).toBe(0);
    expect(other.byteLength).toBe(0);
    expect(() => releaseBuffer(buf)).not.toThrow(); // already freed: a no-op
  });

  it("leaves a small view of a bigger buffer alone (a pool slice) and its neighbours intact", () => {
    // Like Node's Buffer.allocUnsafe pool: small buffers carved out of one 8 KiB slab.
    const slab = new ArrayBuffer(8192);
    const a = new Uint8Array(slab, 0, 100).fill(1);
    const b = new Uint8Array(slab, 100, 100).fill(2);
    releaseBuffer(a);
    releaseBuffer(b);
    expect(a.every((x) => x === 1) && a.byteLength === 100).toBe(true);
    expect(b.every((x) => x === 2) && b.byteLength === 100).toBe(true);
    expect(slab.byteLength).toBe(8192);
  });

  it("frees a small buffer only when the view spans all of it", () => {
    const copy = new Uint8Array(RELEASE_MIN_BYTES / 4).fill(5).slice();
    expect(spansWhole(copy)).toBe(true);
    expect(spansWhole(copy.subarray(1))).toBe(false);
    releaseBuffer(copy);
    expect(copy.byteLength).toBe(0);
  });
});
