import { describe, expect, it } from "vitest";
import { BIG_FILE, ChunkerPool } from "../../../src/engine/backup/chunkers.ts";
import { Chunker } from "../../../src/engine/chunk/chunker.ts";
import type { ChunkerParams } from "../../../src/engine/types.ts";

const P: ChunkerParams = { min: 8 * 1024, avg: 32 * 1024, max: 128 * 1024, seed: "cd".repeat(32) };

const turns = async (n = 5) => {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
};

describe("ChunkerPool", () => {
  it("reads one big file at a time and hands its chunker to the big file waiting", async () => {
    const pool = new ChunkerPool(P);
    const a = await pool.acquire(BIG_FILE + 1);
    let b: Awaited<ReturnType<ChunkerPool["acquire"]>> | null = null;
    void pool.acquire(BIG_FILE * 4).then((l) => {
      b = l;
    });
    await turns();
    expect(b).toBeNull();
    a.release();
    await turns();
    expect(b).not.toBeNull();
    // The same chunker, with its whole buffer still there (max chunk + one read).
    expect(b!.chunker).toBe(a.chunker);
    expect(b!.chunker.writable(P.max).byteLength).toBe(P.max);
    b!.release();
  });

  it("frees a big file's chunker when no big file waits, and small files still share theirs", async () => {
    const pool = new ChunkerPool(P);
    const big = await pool.acquire(BIG_FILE * 2);
    const buffer = big.chunker.writable(1).buffer;
    expect(buffer.byteLength).toBeGreaterThanOrEqual(P.max);
    big.release();
    expect(buffer.byteLength).toBe(0); // detached: its memory is freed now, not at a collection
    const next = await pool.acquire(BIG_FILE * 2);
    expect(next.chunker).not.toBe(big.chunker);
    next.release();
    const s1 = await pool.acquire(100);
    s1.release();
    const s2 = await pool.acquire(200);
    expect(s2.chunker).toBe(s1.chunker);
    s2.release();
  });
});

describe("Chunker started at full size", () => {
  it("cuts the same chunks as one that grows", () => {
    const data = new Uint8Array(600 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
    const cut = (c: Chunker) => [...c.push(data), ...c.finish()].map((x) => x.byteLength);
    const grown = cut(new Chunker(P));
    expect(grown.length).toBeGreaterThan(3);
    expect(cut(new Chunker(P, true))).toEqual(grown);
  });
});
