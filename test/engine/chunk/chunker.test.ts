import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Chunker, chunkBuffer } from "../../../src/engine/chunk/chunker.ts";
import { gearTable, topMask } from "../../../src/engine/chunk/gear.ts";
import type { ChunkerParams } from "../../../src/engine/types.ts";

const P: ChunkerParams = { min: 8 * 1024, avg: 32 * 1024, max: 128 * 1024, seed: "ab".repeat(32) };

/** Deterministic pseudo-random bytes (SHA-256 in counter mode), so tests are reproducible. */
function prng(size: number, label = "x"): Uint8Array {
  const out = new Uint8Array(size);
  for (let off = 0, i = 0; off < size; off += 32, i++) {
    const h = createHash("sha256").update(`${label}:${i}`).digest();
    out.set(h.subarray(0, Math.min(32, size - off)), off);
  }
  return out;
}

const sizes = (chunks: Uint8Array[]) => chunks.map((c) => c.length);
const hashes = (chunks: Uint8Array[]) => chunks.map((c) => createHash("sha256").update(c).digest("hex"));

function concat(chunks: Uint8Array[]): Buffer {
  return Buffer.concat(chunks.map((c) => Buffer.from(c)));
}

describe("gear table", () => {
  it("is deterministic per seed and differs between seeds", () => {
    expect(gearTable("01")).toEqual(gearTable("01"));
    expect(gearTable("01")).not.toEqual(gearTable("02"));
    expect(new Set(gearTable("01")).size).toBe(256);
  });

  it("builds masks from the top bits", () => {
    expect(topMask(1) >>> 0).toBe(0x80000000);
    expect(topMask(4) >>> 0).toBe(0xf0000000);
  });
});

/** The algorithm written plainly over a whole buffer, to check the streaming implementation. */
function reference(p: ChunkerParams, data: Uint8Array): number[] {
  const gear = gearTable(p.seed);
  const bits = Math.log2(p.avg);
  const [maskS, maskL] = [topMask(bits + 2), topMask(bits - 2)];
  const out: number[] = [];
  let start = 0;
  while (start < data.length) {
    const n = data.length - start;
    if (n <= p.min) {
      out.push(n);
      break;
    }
    const limit = Math.min(n, p.max);
    let cut = limit;
    let h = 0;
    for (let i = p.min; i < limit; i++) {
      h = ((h << 1) + gear[data[start + i]!]!) | 0;
      if ((h & (i < p.avg ? maskS : maskL)) === 0) {
        cut = i + 1;
        break;
      }
    }
    out.push(cut);
    start += cut;
  }
  return out;
}

describe("chunker", () => {
  const data = prng(3 * 1024 * 1024);

  it("matches a plain reference implementation, whatever the read sizes", () => {
    const expected = reference(P, data);
    expect(sizes(chunkBuffer(P, data))).toEqual(expected);
    for (const step of [1000, 65_536, 300_001]) {
      const c = new Chunker(P);
      const got: Uint8Array[] = [];
      for (let off = 0; off < data.length; off += step) got.push(...c.push(data.subarray(off, off + step)));
      got.push(...c.finish());
      expect(sizes(got)).toEqual(expected);
    }
    const zeros = new Uint8Array(P.max * 2 + P.min + 3);
    expect(sizes(chunkBuffer(P, zeros))).toEqual(reference(P, zeros));
  });

  it("cuts the same boundaries for the same data, however it is fed", () => {
    const whole = chunkBuffer(P, data);
    const c = new Chunker(P);
    const pieces: Uint8Array[] = [];
    for (let off = 0; off < data.length; off += 7777) pieces.push(...c.push(data.subarray(off, off + 7777)));
    pieces.push(...c.finish());
    expect(sizes(pieces)).toEqual(sizes(whole));
    expect(concat(whole).equals(Buffer.from(data))).toBe(true);
  });

  it("respects min and max, with an average near the target", () => {
    const chunks = chunkBuffer(P, data);
    for (const c of chunks.slice(0, -1)) {
      expect(c.length).toBeGreaterThanOrEqual(P.min);
      expect(c.length).toBeLessThanOrEqual(P.max);
    }
    const avg = data.length / chunks.length;
    expect(avg).toBeGreaterThan(P.avg / 2);
    expect(avg).toBeLessThan(P.avg * 2);
  });

  it("cuts data without boundaries (zeros) at the maximum size", () => {
    const chunks = chunkBuffer(P, new Uint8Array(P.max * 3 + 5));
    expect(sizes(chunks)).toEqual([P.max, P.max, P.max, 5]);
  });

  it("returns small inputs as one chunk and nothing for empty input", () => {
    expect(sizes(chunkBuffer(P, new Uint8Array(100)))).toEqual([100]);
    expect(chunkBuffer(P, new Uint8Array(0))).toEqual([]);
  });

  it("changes only the chunks near an insertion in the middle", () => {
    const before = chunkBuffer(P, data);
    const mid = data.length / 2;
    const edited = Buffer.concat([data.subarray(0, mid), Buffer.from("inserted!"), data.subarray(mid)]);
    const after = chunkBuffer(P, edited);
    const old = new Set(hashes(before));
    const fresh = hashes(after).filter((h) => !old.has(h));
    expect(fresh.length).toBeGreaterThanOrEqual(1);
    expect(fresh.length).toBeLessThanOrEqual(2);
    expect(after.length).toBeGreaterThan(20);
  });

  it("gives different boundaries for different seeds", () => {
    const a = sizes(chunkBuffer(P, data));
    const b = sizes(chunkBuffer({ ...P, seed: "cd".repeat(32) }, data));
    expect(a).not.toEqual(b);
  });

  it("returns chunks that stay valid after more data is pushed", () => {
    const c = new Chunker(P);
    const first = c.push(data.subarray(0, 1024 * 1024));
    const copy = first.map((x) => Buffer.from(x));
    c.push(new Uint8Array(randomBytes(1024 * 1024)));
    expect(first.map((x) => Buffer.from(x))).toEqual(copy);
  });

  it("can be reused after finish", () => {
    const c = new Chunker(P);
    const one = [...c.push(data), ...c.finish()];
    const two = [...c.push(data), ...c.finish()];
    expect(sizes(two)).toEqual(sizes(one));
  });
});

describe("zero-copy reading (writable/commit/finishViews)", () => {
  /** Reads `data` in pieces of `step` straight into the chunker, copying each view as it comes. */
  function readInto(c: Chunker, data: Uint8Array, step: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let off = 0; off < data.length; ) {
      const space = c.writable(step);
      const n = Math.min(space.length, data.length - off);
      space.set(data.subarray(off, off + n));
      off += n;
      for (const v of c.commit(n)) out.push(v.slice());
    }
    for (const v of c.finishViews()) out.push(v.slice());
    return out;
  }

  it("cuts exactly where push/finish cut, whatever the read size", () => {
    const data = prng(1_500_000, "views");
    const expected = hashes(chunkBuffer(P, data));
    for (const step of [1000, 65_536, 1 << 20]) {
      expect(hashes(readInto(new Chunker(P), data, step))).toEqual(expected);
    }
  });

  it("is reusable across streams, also after clear() drops a half-read one", () => {
    const c = new Chunker(P);
    const a = prng(700_000, "a");
    const b = prng(300_000, "b");
    expect(hashes(readInto(c, a, 100_000))).toEqual(hashes(chunkBuffer(P, a)));
    const space = c.writable(50_000);
    space.set(b.subarray(0, space.length));
    c.commit(space.length);
    c.clear();
    expect(hashes(readInto(c, b, 77_777))).toEqual(hashes(chunkBuffer(P, b)));
  });

  it("refuses a commit beyond its buffer", () => {
    const c = new Chunker(P);
    const space = c.writable(10);
    expect(space.length).toBe(10);
    expect(() => c.commit(10 * 1024 * 1024)).toThrow(RangeError);
  });
});
