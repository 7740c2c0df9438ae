import { describe, expect, it } from "vitest";
import { StagingBuffers } from "../../../src/engine/repository/staging.ts";

describe("staging buffers", () => {
  it("copies into power-of-two buffers and reuses the ones handed back", () => {
    const s = new StagingBuffers(1 << 20);
    const data = new Uint8Array(100_000).fill(7);
    const a = s.copy(data);
    expect(a).toEqual(data);
    expect(a.buffer.byteLength).toBe(128 * 1024);
    const buffer = a.buffer as ArrayBuffer;
    s.give(buffer);
    const b = s.copy(new Uint8Array(70_000).fill(9));
    expect(b.buffer).toBe(buffer);
    expect(b.byteLength).toBe(70_000);
    expect(b.every((x) => x === 9)).toBe(true);
  });

  it("copies small blobs exactly and keeps no more than its limit", () => {
    const s = new StagingBuffers(256 * 1024);
    const small = s.copy(new Uint8Array(10).fill(1));
    expect(small.buffer.byteLength).toBe(10);
    const bufs = [1, 2, 3].map(() => s.copy(new Uint8Array(100_000)).buffer as ArrayBuffer);
    for (const b of bufs) s.give(b);
    s.give(new ArrayBuffer(100_000)); // not a size class: dropped
    const reused = [1, 2, 3].map(() => s.copy(new Uint8Array(100_000)).buffer);
    expect(reused.filter((b) => bufs.includes(b as ArrayBuffer))).toHaveLength(2);
  });
});
