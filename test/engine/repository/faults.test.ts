import { describe, expect, it } from "vitest";
import { withFaults } from "../../../src/storage/faulty.ts";
import { createMemoryBackend } from "../../../src/storage/memory.ts";
import { CancelledError, PermanentStorageError } from "../../../src/util/errors.ts";
import { init, mixed, open } from "./fixtures.ts";

describe("repository under storage faults", () => {
  it("fails flush (and later saves) when a pack upload fails, and writes no index for it", async () => {
    const memory = createMemoryBackend();
    (await init(memory, "pw")).close();
    const faulty = withFaults(memory, [{ method: "put", match: /^data\//, fault: { kind: "permanent" } }]);
    const repo = await open(faulty, "pw", { workers: 2, packSize: 20_000 });
    const a = mixed(30_000, 1);
    await repo.saveBlob("data", repo.blobId(a), a).catch(() => {});
    const err = await repo.flush().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentStorageError);
    expect((err as Error).message).toMatch(/upload pack [0-9a-f]{12}/);
    const b = mixed(10, 2);
    await expect(repo.saveBlob("data", repo.blobId(b), b)).rejects.toThrow(PermanentStorageError);
    expect([...memory.objects.keys()].some((n) => n.startsWith("index/"))).toBe(false);
    await repo.close();
  });

  it("keeps packs for the next index write when writing an index file fails", async () => {
    const memory = createMemoryBackend();
    (await init(memory, "pw")).close();
    const faulty = withFaults(memory, [{ method: "put", match: /^index\//, fault: { kind: "transient" } }]);
    const repo = await open(faulty, "pw");
    const b = mixed(5000);
    await repo.saveBlob("data", repo.blobId(b), b);
    await expect(repo.flush()).rejects.toThrow(/write index/);
    await repo.flush();
    await repo.close();
    const again = await open(memory, "pw");
    expect(await again.loadBlob("data", again.blobId(b))).toEqual(b);
    expect(again.indexFiles).toHaveLength(1);
    await again.close();
  });

  it("honours an aborted signal", async () => {
    const repo = await init(createMemoryBackend(), "pw");
    const ac = new AbortController();
    ac.abort();
    const b = mixed(100);
    await expect(repo.saveBlob("data", repo.blobId(b), b, ac.signal)).rejects.toThrow(CancelledError);
    await expect(repo.loadBlob("data", repo.blobId(b), ac.signal)).rejects.toThrow(CancelledError);
    await expect(repo.flush(ac.signal)).rejects.toThrow(CancelledError);
    await repo.close();
  });

  it("keeps memory bounded: saves wait while packs are uploading", async () => {
    const memory = createMemoryBackend();
    (await init(memory, "pw")).close();
    const slow = withFaults(memory, [
      { method: "put", match: /^data\//, times: Number.POSITIVE_INFINITY, fault: { kind: "delay", ms: 15 } },
    ]);
    const packSize = 200_000;
    const repo = await open(slow, "pw", { workers: 2, packSize, compression: "off" });
    const blob = mixed(100_000, 0);
    let peak = 0;
    for (let i = 0; i < 200; i++) {
      blob[0] = i;
      blob[1] = i >> 8;
      await repo.saveBlob("data", repo.blobId(blob), blob);
      peak = Math.max(peak, repo.bufferedBytes());
    }
    await repo.flush();
    expect(repo.bufferedBytes()).toBe(0);
    expect(repo.index.size).toBe(200);
    // 20 MB went through; what was held stayed within two queues of 4 MiB plus a few packs.
    expect(peak).toBeLessThanOrEqual(2 * 4 * 1024 * 1024 + 5 * packSize + 100_000);
    await repo.close();
  });
});

describe("saveBlob input checks", () => {
  it("rejects a blob whose id does not match its content, in workers and inline", async () => {
    for (const workers of [0, 1]) {
      const repo = await init(createMemoryBackend(), "pw", { workers });
      const b = mixed(1000);
      await expect(repo.saveBlob("data", "ab".repeat(32), b)).rejects.toThrow(/does not match its content/);
      expect(repo.hasBlob("data", "ab".repeat(32))).toBe(false);
      expect((await repo.saveBlob("data", repo.blobId(b), b)).added).toBe(true);
      await repo.flush();
      expect(await repo.loadBlob("data", repo.blobId(b))).toEqual(b);
      await repo.close();
    }
  });
});

describe("recycled buffers", () => {
  it("never let a reused pack or staging buffer corrupt a stored pack (workers and inline)", async () => {
    for (const workers of [0, 2]) {
      const memory = createMemoryBackend();
      (await init(memory, "pw")).close();
      const repo = await open(memory, "pw", { workers, packSize: 300_000 });
      const blobs = Array.from({ length: 60 }, (_, i) => mixed(70_000 + i * 997, i));
      const saves: Promise<unknown>[] = [];
      for (const b of blobs) {
        const scratch = b.slice();
        saves.push(repo.saveBlob("data", repo.blobId(scratch), scratch));
        scratch.fill(0); // saveBlob copied it before returning
      }
      await Promise.all(saves);
      await repo.flush();
      await repo.close();
      const again = await open(memory, "pw");
      expect(again.index.packs().length).toBeGreaterThan(8);
      for (const b of blobs) expect(await again.loadBlob("data", again.blobId(b))).toEqual(b);
      await again.close();
    }
  });
});
