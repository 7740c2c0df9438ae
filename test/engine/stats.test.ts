import { describe, expect, it } from "vitest";
import { repositoryStats } from "../../src/engine/stats.ts";
import { createMemoryBackend } from "../../src/storage/memory.ts";
import { CHUNK, init, writeSnapshot } from "./prune-fixture.ts";

function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed * 7 + ((i >> 8) ^ seed)) & 0xff;
  return out;
}

describe("repositoryStats", () => {
  it("is all zeros for an empty repository", async () => {
    const repo = await init(createMemoryBackend(), "pw");
    const s = await repositoryStats(repo);
    expect(s).toMatchObject({
      snapshots: 0,
      latest: { id: null, size: 0, files: 0 },
      totalSize: 0,
      uniqueSize: 0,
      storedSize: 0,
      dedupRatio: 0,
      compressionRatio: 0,
      packs: 0,
      blobs: 0,
    });
    await repo.close();
  });

  it("counts logical sizes per snapshot and unique data once", async () => {
    const repo = await init(createMemoryBackend(), "pw", { packSize: 64 * 1024 });
    const shared = bytes(4 * CHUNK, 1);
    const first = await writeSnapshot(
      repo,
      { "a.bin": shared, "d/b.bin": bytes(CHUNK, 2) },
      "2026-01-01T00:00:00.000Z",
    );
    const second = await writeSnapshot(
      repo,
      { "a.bin": shared, "copy.bin": shared, "d/b.bin": bytes(CHUNK, 3) },
      "2026-01-02T00:00:00.000Z",
    );
    const s = await repositoryStats(repo);
    expect(s.snapshots).toBe(2);
    expect(s.latest).toEqual({ id: second.id, size: 9 * CHUNK, files: 3 });
    expect(s.totalSize).toBe(5 * CHUNK + 9 * CHUNK);
    expect(s.totalFiles).toBe(5);
    // The shared file's chunks are 4 distinct blobs stored once; b.bin differs between snapshots.
    expect(s.uniqueDataSize).toBe(6 * CHUNK);
    expect(s.uniqueSize).toBeGreaterThan(s.uniqueDataSize);
    expect(s.dedupRatio).toBeCloseTo(14 / 6, 5);
    expect(s.compressionRatio).toBeGreaterThan(1);
    expect(s.referencedBlobs).toBe(6 + 4);
    expect(s.blobs).toBe(s.referencedBlobs);
    expect(s.storedSize).toBe(repo.index.packs().reduce((n, p) => n + p.size, 0));
    expect(s.packs).toBeGreaterThan(1);
    const only = await repositoryStats(repo, { snapshots: [first] });
    expect(only.totalSize).toBe(5 * CHUNK);
    await repo.close();
  });
});
