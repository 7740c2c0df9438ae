import { describe, expect, it } from "vitest";
import { checkRepository } from "../../../src/engine/check.ts";
import { adoptUnindexedPacks } from "../../../src/engine/repository/rebuild-index.ts";
import { createMemoryBackend } from "../../../src/storage/memory.ts";
import { init, mixed, open } from "./fixtures.ts";

describe("adoptUnindexedPacks", () => {
  it("indexes packs left without an index by an interrupted backup", async () => {
    const backend = createMemoryBackend();
    const repo = await init(backend, "pw", { packSize: 10_000 });
    const blobs = [mixed(20_000, 1), mixed(20_000, 2), mixed(20_000, 3)];
    for (const b of blobs) await repo.saveBlob("data", repo.blobId(b), b);
    // Crash before the index: close without flush drops the last open pack, keeps uploaded ones.
    await repo.close();
    await backend.put(`data/ff/${"f".repeat(64)}`, new Uint8Array([1, 2, 3]));

    const again = await open(backend, "pw");
    const unindexed = blobs.filter((b) => !again.hasBlob("data", again.blobId(b)));
    expect(unindexed).toHaveLength(3);
    const result = await adoptUnindexedPacks(again);
    expect(result.packs).toBeGreaterThanOrEqual(2);
    expect(result.blobs).toBe(result.packs);
    expect(result.errors).toEqual([expect.objectContaining({ object: `data/ff/${"f".repeat(64)}` })]);
    for (const b of blobs.slice(0, result.blobs)) {
      expect(await again.loadBlob("data", again.blobId(b))).toEqual(b);
    }
    expect(await adoptUnindexedPacks(again)).toMatchObject({ packs: 0, indexFile: null });
    await again.close();

    await backend.delete(`data/ff/${"f".repeat(64)}`);
    const third = await open(backend, "pw");
    expect(third.index.size).toBe(result.blobs);
    expect((await checkRepository(third, { readData: true })).errors).toEqual([]);
    await third.close();
  });
});
