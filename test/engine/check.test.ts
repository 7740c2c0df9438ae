import { describe, expect, it } from "vitest";
import { checkRepository } from "../../src/engine/check.ts";
import { packName } from "../../src/engine/repository/pack-format.ts";
import type { RepositoryImpl } from "../../src/engine/repository/repository.ts";
import type { ProgressEvent, TreeNode } from "../../src/engine/types.ts";
import { createMemoryBackend, type MemoryBackend } from "../../src/storage/memory.ts";
import { BACKENDS, flipByte, init, mixed, open, snapshotInput } from "./repository/fixtures.ts";

/** A small backup: two files (three data blobs), one subdirectory, one snapshot. */
async function backupFixture(repo: RepositoryImpl) {
  const blobs = [mixed(30_000, 1), mixed(30_000, 2), mixed(30_000, 3)];
  const ids: string[] = [];
  for (const b of blobs) {
    ids.push(repo.blobId(b));
    await repo.saveBlob("data", repo.blobId(b), b);
  }
  const node = (name: string, extra: Partial<TreeNode>): TreeNode => ({
    name,
    type: "file",
    mode: 0o644,
    uid: 0,
    gid: 0,
    mtime: "0",
    ctime: "0",
    inode: 1,
    device: 1,
    size: 0,
    ...extra,
  });
  const sub = await repo.saveTree({ nodes: [node("b.txt", { content: [ids[2]!], size: 30_000 })] });
  const root = await repo.saveTree({
    nodes: [
      node("a.txt", { content: [ids[0]!, ids[1]!], size: 60_000 }),
      node("sub", { type: "dir", subtree: sub }),
    ],
  });
  await repo.flush();
  const snap = await repo.saveSnapshot(snapshotInput(root));
  return { ids, snap, root, sub };
}

async function fresh(packSize = 40_000): Promise<{ backend: MemoryBackend; repo: RepositoryImpl }> {
  const backend = createMemoryBackend();
  const repo = await init(backend, "pw", { packSize });
  return { backend, repo };
}

describe("checkRepository", () => {
  it("passes a healthy repository, with and without reading data", async () => {
    const { repo } = await fresh();
    await backupFixture(repo);
    const events: ProgressEvent[] = [];
    const plain = await checkRepository(repo);
    expect(plain.errors).toEqual([]);
    expect(plain.snapshots).toBe(1);
    expect(plain.blobsChecked).toBe(5);
    const full = await checkRepository(repo, { readData: true, onProgress: (e) => events.push(e) });
    expect(full.errors).toEqual([]);
    expect(full.packsChecked).toBe(repo.index.packs().length);
    expect(full.blobsChecked).toBe(5);
    expect(full.packsRead).toBe(full.packsChecked);
    expect(full.blobsRead).toBe(5);
    expect(events[0]).toMatchObject({ type: "start", operation: "check" });
    expect(events.at(-1)).toMatchObject({ type: "progress", files_done: full.packsChecked });
    await repo.close();
  });

  it("names the pack whose byte was flipped when reading data", async () => {
    const { backend, repo } = await fresh();
    const { ids } = await backupFixture(repo);
    const e = repo.lookup("data", ids[1]!)!;
    flipByte(backend.objects.get(packName(e.pack))!, e.offset + 20);
    expect((await checkRepository(repo)).errors).toEqual([]);
    const { errors } = await checkRepository(repo, { readData: true });
    const packErrors = errors.filter((x) => x.object === packName(e.pack));
    expect(packErrors.length).toBeGreaterThanOrEqual(2);
    expect(packErrors.map((x) => x.message).join("\n")).toContain("SHA-256");
    expect(packErrors.map((x) => x.message).join("\n")).toContain(ids[1]!);
    // The rest name the files (and their snapshot) with data in that pack.
    const fileErrors = errors.filter((x) => x.object !== packName(e.pack));
    expect(fileErrors.length).toBeGreaterThan(0);
    for (const f of fileErrors) {
      expect(f.object).toMatch(/^file \//);
      expect(f.message).toMatch(/^snapshot [0-9a-f]{12}: data in damaged pack/);
    }
    await repo.close();
  });

  it("reads a random subset of packs", async () => {
    const { backend, repo } = await fresh(10_000);
    await backupFixture(repo);
    const packs = repo.index.packs();
    for (const p of packs) flipByte(backend.objects.get(packName(p.id))!, 3);
    const { errors } = await checkRepository(repo, { readDataSubsetPct: 1 });
    // Tree packs are damaged too, so tree loads fail; of the packs read in full, only one was chosen.
    expect(new Set(errors.filter((x) => x.object.startsWith("data/")).map((x) => x.object)).size).toBe(1);
    expect(errors.some((x) => x.object.startsWith("tree/"))).toBe(true);
    await repo.close();
  });

  it("reports a missing pack, a truncated pack and the blobs they held", async () => {
    const { backend, repo } = await fresh(10_000);
    const { ids, snap } = await backupFixture(repo);
    const gone = repo.lookup("data", ids[2]!)!.pack;
    await backend.delete(packName(gone));
    const short = repo.lookup("data", ids[0]!)!.pack;
    backend.objects.set(packName(short), backend.objects.get(packName(short))!.slice(1));
    const { errors } = await checkRepository(repo, { readData: true });
    const objects = errors.map((x) => x.object);
    expect(objects).toContain(packName(gone));
    expect(objects).toContain(packName(short));
    expect(errors.find((x) => x.object === packName(gone))!.message).toContain("missing");
    expect(errors.find((x) => x.object === packName(short))!.message).toContain("size");
    await repo.close();
    // A blob missing from the index is named with its path and snapshot.
    const fresh2 = await open(backend, "pw", { lock: "none" });
    expect(fresh2.index.size).toBeGreaterThan(0);
    const { errors: e2 } = await checkRepository(fresh2);
    expect(e2.some((x) => x.object === packName(gone))).toBe(true);
    expect(snap.id).toMatch(/^[0-9a-f]{64}$/);
    await fresh2.close();
  });

  it("reports unindexed blobs with their path, and damaged snapshots and index files", async () => {
    const { backend, repo } = await fresh();
    const { ids, snap } = await backupFixture(repo);
    await repo.close();
    // Drop every index file: the blobs are now unknown (as after a lost index).
    for (const name of [...backend.objects.keys()])
      if (name.startsWith("index/")) backend.objects.delete(name);
    backend.objects.set(`index/${"0".repeat(64)}`, new Uint8Array([1, 2, 3]));
    const badSnap = `snapshots/${"1".repeat(64)}`;
    backend.objects.set(badSnap, new Uint8Array([4, 5, 6]));
    const r = await open(backend, "pw");
    const { errors, snapshots } = await checkRepository(r);
    expect(snapshots).toBe(2);
    const objects = errors.map((x) => x.object);
    expect(objects).toContain(`index/${"0".repeat(64)}`);
    expect(objects).toContain(badSnap);
    const treeErr = errors.find((x) => x.object.startsWith("tree/"));
    expect(treeErr?.message).toContain(`snapshot ${snap.id.slice(0, 12)}`);
    expect(ids).toHaveLength(3);
    await r.close();
  });

  it("reports data blobs missing from the index with their file path", async () => {
    const { repo } = await fresh();
    const root = await repo.saveTree({
      nodes: [
        {
          name: "lost.bin",
          type: "file",
          mode: 0o600,
          uid: 0,
          gid: 0,
          mtime: "0",
          ctime: "0",
          inode: 9,
          device: 1,
          size: 1,
          content: ["b".repeat(64)],
        },
      ],
    });
    await repo.flush();
    await repo.saveSnapshot(snapshotInput(root));
    const { errors } = await checkRepository(repo);
    expect(errors).toEqual([expect.objectContaining({ object: `data/${"b".repeat(64)}` })]);
    expect(errors[0]!.message).toContain("/lost.bin");
    await repo.close();
  });

  it("survives an interrupted backup: packs written, no index, no snapshot", async () => {
    const backend = createMemoryBackend();
    const repo = await init(backend, "pw", { packSize: 10_000 });
    await backupFixture(repo);
    // Second run: blobs are packed and uploaded, but the process dies before index and snapshot.
    const more = [mixed(25_000, 7), mixed(25_000, 8)];
    const before = new Set(backend.objects.keys());
    for (const b of more) await repo.saveBlob("data", repo.blobId(b), b);
    await new Promise((r) => setTimeout(r, 50));
    // Simulate the crash: keep only packs that appeared, drop anything else written later.
    await repo.close();
    const leftovers = [...backend.objects.keys()].filter((n) => !before.has(n));
    expect(leftovers.some((n) => n.startsWith("data/"))).toBe(true);
    expect(leftovers.every((n) => n.startsWith("data/"))).toBe(true);
    expect(leftovers.length).toBe(2);
    const r = await open(backend, "pw");
    const result = await checkRepository(r, { readData: true });
    expect(result.errors).toEqual([]);
    expect(result.snapshots).toBe(1);
    expect(result.unindexedPacks).toBe(2);
    for (const b of more) expect(r.hasBlob("data", r.blobId(b))).toBe(false);
    await r.close();
  });
});

for (const kind of BACKENDS) {
  describe(`checkRepository on ${kind.name}`, () => {
    it("passes a healthy repository and names a deleted pack", async () => {
      const { backend, cleanup } = await kind.make();
      try {
        const repo = await init(backend, "pw", { packSize: 10_000 });
        const { ids } = await backupFixture(repo);
        expect((await checkRepository(repo, { readData: true })).errors).toEqual([]);
        const pack = repo.lookup("data", ids[1]!)!.pack;
        await backend.delete(packName(pack));
        const { errors } = await checkRepository(repo, { readData: true });
        expect(errors.map((e) => e.object)).toContain(packName(pack));
        await repo.close();
      } finally {
        await cleanup();
      }
    });
  });
}
