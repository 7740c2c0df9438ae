import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { checkRepository } from "../../src/engine/check.ts";
import { forgetSnapshots } from "../../src/engine/forget.ts";
import { pruneRepository } from "../../src/engine/prune.ts";
import { acquireLock, removeAllLocks } from "../../src/engine/repository/lock.ts";
import { packName } from "../../src/engine/repository/pack-format.ts";
import type { RepositoryImpl } from "../../src/engine/repository/repository.ts";
import type { Snapshot } from "../../src/engine/types.ts";
import type { Backend } from "../../src/storage/backend.ts";
import { FaultyBackend } from "../../src/storage/faulty.ts";
import { createMemoryBackend } from "../../src/storage/memory.ts";
import { createManualClock } from "../../src/util/clock.ts";
import { IntegrityError, LockedError } from "../../src/util/errors.ts";
import {
  BACKENDS,
  type Files,
  generation,
  init,
  listing,
  open,
  readSnapshot,
  sharedFiles,
  totalSize,
  writeSnapshot,
} from "./prune-fixture.ts";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const PACK = 24 * 1024;

/** A repository with `n` daily snapshots; returns what each snapshot holds. */
async function build(backend: Backend, n = 6): Promise<Map<string, Files>> {
  const repo = await init(backend, "pw", { packSize: PACK });
  const shared = sharedFiles();
  const contents = new Map<string, Files>();
  for (let g = 0; g < n; g++) {
    const files = generation(g, shared);
    const s = await writeSnapshot(repo, files, `2026-01-0${g + 1}T12:00:00.000Z`);
    contents.set(s.id, files);
  }
  await repo.close();
  return contents;
}

async function expectHealthy(backend: Backend, contents: Map<string, Files>): Promise<Snapshot[]> {
  const repo = await open(backend, "pw", { lock: "none" });
  try {
    const result = await checkRepository(repo, { readData: true });
    expect(result.errors).toEqual([]);
    const snaps = await repo.listSnapshots();
    for (const s of snaps) expect(await readSnapshot(repo, s)).toEqual(contents.get(s.id));
    return snaps;
  } finally {
    await repo.close();
  }
}

async function withExclusive<T>(backend: Backend, fn: (repo: RepositoryImpl) => Promise<T>): Promise<T> {
  const repo = await open(backend, "pw", { lock: "exclusive" });
  try {
    return await fn(repo);
  } finally {
    await repo.close();
  }
}

describe.each(BACKENDS.filter((b) => b.name !== "memory"))("forget + prune on $name", (bc) => {
  it("shrinks the repository and every remaining snapshot reads back byte for byte", async () => {
    const { backend, cleanup } = await bc.make();
    cleanups.push(cleanup);
    const contents = await build(backend);
    const before = await totalSize(backend);
    const forgotten = await withExclusive(backend, (repo) =>
      forgetSnapshots(repo, { keepLast: 3 }, { timeZone: "UTC" }),
    );
    expect(forgotten.removed).toHaveLength(3);
    const report = await withExclusive(backend, (repo) => pruneRepository(repo, { packSize: PACK }));
    expect(report.snapshots).toBe(3);
    expect(report.packs.removed + report.packs.repacked).toBeGreaterThan(0);
    const after = await totalSize(backend);
    expect(after).toBeLessThan(before);
    expect(report.bytes.before).toBe(before);
    expect(report.bytes.before - report.bytes.freed).toBe(after);
    const remaining = await expectHealthy(backend, contents);
    expect(remaining.map((s) => s.time)).toEqual(["04", "05", "06"].map((d) => `2026-01-${d}T12:00:00.000Z`));
    expect([...(await listing(backend, "index/")).keys()]).toHaveLength(1);
    // A second prune finds nothing left to do.
    const again = await withExclusive(backend, (repo) => pruneRepository(repo, { maxUnusedPct: 0 }));
    expect(again.packs).toMatchObject({ removed: 0, repacked: 0, unindexed: 0, written: 0 });
    expect(again.bytes.freed).toBe(0);
  });
});

describe("prune", () => {
  it("changes nothing on a dry run but reports what it would do", async () => {
    const backend = createMemoryBackend();
    const contents = await build(backend);
    await withExclusive(backend, (repo) => forgetSnapshots(repo, { keepLast: 2 }, { timeZone: "UTC" }));
    const before = await listing(backend);
    const dry = await withExclusive(backend, (repo) => pruneRepository(repo, { dryRun: true }));
    expect(dry.dryRun).toBe(true);
    expect(dry.bytes.freed).toBeGreaterThan(0);
    const after = await listing(backend);
    for (const k of [...after.keys()]) if (k.startsWith("locks/")) after.delete(k);
    expect(after).toEqual(before);
    const real = await withExclusive(backend, (repo) => pruneRepository(repo));
    expect(real.packs.removed).toBe(dry.packs.removed);
    expect(real.packs.repacked).toBe(dry.packs.repacked);
    await expectHealthy(backend, contents);
  });

  it("repacks partly used packs only beyond max-unused", async () => {
    const backend = createMemoryBackend();
    await build(backend, 4);
    await withExclusive(backend, (repo) => forgetSnapshots(repo, { keepLast: 1 }, { timeZone: "UTC" }));
    const lazy = await withExclusive(backend, (repo) =>
      pruneRepository(repo, { maxUnusedPct: 100, dryRun: true }),
    );
    expect(lazy.packs.repacked).toBe(0);
    const eager = await withExclusive(backend, (repo) => pruneRepository(repo, { maxUnusedPct: 0 }));
    expect(eager.packs.repacked).toBeGreaterThan(0);
    expect(eager.bytes.unusedLeft).toBe(0);
    await expect(
      withExclusive(backend, (repo) => pruneRepository(repo, { maxUnusedPct: 101 })),
    ).rejects.toThrow(/0–100/);
  });

  it("deletes packs no index names (left by an interrupted backup)", async () => {
    const inner = createMemoryBackend();
    const contents = await build(inner, 2);
    const faulty = new FaultyBackend(inner, {
      rules: [
        { method: "put", match: /^index\//, times: Number.POSITIVE_INFINITY, fault: { kind: "permanent" } },
      ],
    });
    const repo = await open(faulty, "pw", { lock: "none", packSize: PACK });
    await expect(
      writeSnapshot(repo, generation(9, sharedFiles()), "2026-02-01T00:00:00.000Z"),
    ).rejects.toThrow();
    await repo.close();
    const dataBefore = await listing(inner, "data/");
    const report = await withExclusive(inner, (r) => pruneRepository(r));
    expect(report.packs.unindexed).toBeGreaterThan(0);
    expect((await listing(inner, "data/")).size).toBe(dataBefore.size - report.packs.unindexed);
    await expectHealthy(inner, contents);
  });

  it("leaves objects under data/ that are not named like packs alone", async () => {
    const backend = createMemoryBackend();
    const contents = await build(backend, 1);
    const strangers = ["data/README", `data/ab/${"cd".repeat(32)}`, `data/00/${"0".repeat(63)}`];
    for (const name of strangers) await backend.put(name, new Uint8Array([1]));
    const report = await withExclusive(backend, (r) => pruneRepository(r));
    expect(report.packs.unindexed).toBe(0);
    const left = await listing(backend, "data/");
    for (const name of strangers) expect(left.has(name)).toBe(true);
    for (const name of strangers) await backend.delete(name);
    await expectHealthy(backend, contents);
  });

  it("keeps one copy of a blob stored twice", async () => {
    const backend = createMemoryBackend();
    await init(backend, "pw").then((r) => r.close());
    const a = await open(backend, "pw", { lock: "none" });
    const b = await open(backend, "pw", { lock: "none" });
    const files = { "same.bin": new Uint8Array(20_000).fill(7) };
    const sa = await writeSnapshot(a, files, "2026-01-01T00:00:00.000Z");
    const sb = await writeSnapshot(b, files, "2026-01-02T00:00:00.000Z");
    await a.close();
    await b.close();
    expect((await listing(backend, "data/")).size).toBe(4);
    const report = await withExclusive(backend, (r) => pruneRepository(r));
    expect(report.packs.removed).toBe(2);
    expect((await listing(backend, "data/")).size).toBe(2);
    await expectHealthy(
      backend,
      new Map([
        [sa.id, files],
        [sb.id, files],
      ]),
    );
  });

  it("refuses, changing nothing, when a used blob is in no stored pack", async () => {
    const backend = createMemoryBackend();
    await build(backend, 2);
    const repo = await open(backend, "pw", { lock: "none" });
    const snap = (await repo.listSnapshots())[0]!;
    const tree = await repo.loadTree(snap.tree);
    const blob = tree.nodes.find((n) => n.content)!.content![0]!;
    const pack = repo.lookup("data", blob)!.pack;
    await repo.close();
    await backend.delete(packName(pack));
    const before = await listing(backend);
    await expect(withExclusive(backend, (r) => pruneRepository(r))).rejects.toThrow(IntegrityError);
    expect(await listing(backend)).toEqual(before);
  });

  it("drops an indexed pack that is missing from storage when nothing needs it", async () => {
    const backend = createMemoryBackend();
    const repo = await init(backend, "pw", { packSize: PACK, lock: "exclusive" });
    const oldFiles = { "x.bin": new Uint8Array(randomBytes(50_000)) };
    const newFiles = { "y.bin": new Uint8Array(randomBytes(50_000)) };
    const old = await writeSnapshot(repo, oldFiles, "2026-01-01T00:00:00.000Z");
    const kept = await writeSnapshot(repo, newFiles, "2026-01-02T00:00:00.000Z");
    await forgetSnapshots(repo, { keepLast: 1 }, { timeZone: "UTC" });
    const x = (await repo.loadTree(old.tree)).nodes[0]!;
    const lonely = repo.lookup("data", x.content![0]!)!.pack;
    await backend.delete(packName(lonely));
    const report = await pruneRepository(repo);
    await repo.close();
    expect(report.missingPacks).toEqual([lonely]);
    expect(report.packs.removed).toBeGreaterThan(0);
    await expectHealthy(backend, new Map([[kept.id, newFiles]]));
  });

  it("prunes unencrypted repositories too", async () => {
    const backend = createMemoryBackend();
    const repo = await init(backend, "", { encryption: false, packSize: PACK });
    const shared = sharedFiles();
    const contents = new Map<string, Files>();
    for (let g = 0; g < 3; g++) {
      const files = generation(g, shared);
      contents.set((await writeSnapshot(repo, files, `2026-01-0${g + 1}T00:00:00.000Z`)).id, files);
    }
    await repo.close();
    const r = await open(backend, "", { lock: "exclusive" });
    const forgotten = await forgetSnapshots(r, { keepLast: 1 }, { timeZone: "UTC" });
    const report = await pruneRepository(r, { maxUnusedPct: 0, packSize: PACK });
    await r.close();
    expect(report.packs.repacked + report.packs.removed).toBeGreaterThan(0);
    for (const id of forgotten.removed) contents.delete(id);
    const check = await open(backend, "", { lock: "none" });
    expect((await checkRepository(check, { readData: true })).errors).toEqual([]);
    for (const s of await check.listSnapshots())
      expect(await readSnapshot(check, s)).toEqual(contents.get(s.id));
    await check.close();
  });

  it("refuses when an index file is damaged", async () => {
    const backend = createMemoryBackend();
    await build(backend, 1);
    const [name] = [...(await listing(backend, "index/")).keys()];
    await backend.put(name!, new Uint8Array([1, 2, 3]));
    const before = await listing(backend);
    await expect(withExclusive(backend, (r) => pruneRepository(r))).rejects.toThrow(
      /index file .* cannot be read/,
    );
    expect(await listing(backend)).toEqual(before);
  });

  it("refuses when a snapshot is damaged (its data would look unused)", async () => {
    const backend = createMemoryBackend();
    await build(backend, 2);
    const [name] = [...(await listing(backend, "snapshots/")).keys()];
    await backend.put(name!, new Uint8Array([1, 2, 3]));
    const before = await listing(backend);
    const refused = withExclusive(backend, (r) => pruneRepository(r, { maxUnusedPct: 0 }));
    await expect(refused).rejects.toThrow(IntegrityError);
    await expect(withExclusive(backend, (r) => pruneRepository(r))).rejects.toThrow(
      /prune: a snapshot cannot be read, nothing was changed/,
    );
    expect(await listing(backend)).toEqual(before);
  });

  it("does not start while a backup holds a lock; a stale lock is ignored after its timeout", async () => {
    const backend = createMemoryBackend();
    await build(backend, 1);
    const clock = createManualClock(Date.parse("2026-03-01T00:00:00Z"));
    const keys = (await open(backend, "pw", { lock: "none" })).masterKeys;
    // A backup on another machine: its pid means nothing here, only time makes it stale.
    const held = await acquireLock(backend, keys, {
      exclusive: false,
      clock,
      hostname: "elsewhere",
      pid: 4242,
    });
    await expect(open(backend, "pw", { lock: "exclusive", clock })).rejects.toThrow(LockedError);
    clock.advance(29 * 60 * 1000);
    await expect(open(backend, "pw", { lock: "exclusive", clock })).rejects.toThrow(
      /shared lock by .*elsewhere/,
    );
    clock.advance(2 * 60 * 1000); // 31 minutes without a refresh: the holder is presumed dead
    const repo = await open(backend, "pw", { lock: "exclusive", clock });
    const report = await pruneRepository(repo);
    expect(report.snapshots).toBe(1);
    await repo.close();
    await held.release();
  });

  it("runs only while this process holds the exclusive lock", async () => {
    const backend = createMemoryBackend();
    const contents = await build(backend, 3);
    await withExclusive(backend, (repo) => forgetSnapshots(repo, { keepLast: 1 }, { timeZone: "UTC" }));
    const unlocked = await open(backend, "pw", { lock: "none" });
    await expect(pruneRepository(unlocked)).rejects.toThrow(/exclusive lock .* at the start/);
    expect((await pruneRepository(unlocked, { dryRun: true })).dryRun).toBe(true);
    await unlocked.close();
    // The lock vanishes mid-run (another host judged it stale): prune stops before deleting anything.
    const repo = await open(backend, "pw", { lock: "exclusive" });
    const before = await listing(backend, "index/");
    await expect(
      pruneRepository(repo, {
        maxUnusedPct: 0,
        onStep: async (step) => {
          if (step === "repack") await removeAllLocks(backend, repo.masterKeys);
        },
      }),
    ).rejects.toThrow(LockedError);
    await repo.close().catch(() => {});
    expect(await listing(backend, "index/")).toEqual(before);
    await expectHealthy(backend, contents);
  });

  it("is crash-safe: a failure after any number of writes leaves a valid repository that a rerun finishes", async () => {
    const inner = createMemoryBackend();
    const contents = await build(inner, 6);
    await withExclusive(inner, (repo) => forgetSnapshots(repo, { keepLast: 3 }, { timeZone: "UTC" }));
    for (const k of [...contents.keys()])
      if (!(await listing(inner, `snapshots/${k}`)).size) contents.delete(k);
    const pristine = new Map<string, Uint8Array>();
    for (const name of (await listing(inner)).keys()) pristine.set(name, await inner.get(name));
    let completed = false;
    let crashes = 0;
    for (let after = 0; !completed; after++) {
      // Restore the pre-prune state, then cut all writes off after `after` mutations.
      for (const name of (await listing(inner)).keys()) await inner.delete(name);
      for (const [name, bytes] of pristine) await inner.put(name, bytes);
      const faulty = new FaultyBackend(inner, { rules: [] });
      const repo = await open(faulty, "pw", { lock: "exclusive" });
      faulty.addRule({
        method: ["put", "delete"],
        after,
        times: Number.POSITIVE_INFINITY,
        fault: { kind: "permanent" },
      });
      try {
        await pruneRepository(repo, { maxUnusedPct: 0, packSize: PACK });
        completed = true;
      } catch {
        crashes++; // the simulated crash
      }
      await repo.close().catch(() => {});
      for (const name of (await listing(inner, "locks/")).keys()) await inner.delete(name);
      await expectHealthy(inner, contents);
      await withExclusive(inner, (r) => pruneRepository(r, { maxUnusedPct: 0, packSize: PACK }));
      await expectHealthy(inner, contents);
      const final = await withExclusive(inner, (r) => pruneRepository(r, { maxUnusedPct: 0 }));
      expect(final.packs).toMatchObject({ removed: 0, repacked: 0, unindexed: 0 });
      expect(after).toBeLessThan(500);
    }
    // Repacking, two index writes and many deletions: a crash was tried between each of them.
    expect(crashes).toBeGreaterThan(10);
  });
});
