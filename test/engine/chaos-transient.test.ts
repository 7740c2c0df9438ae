/**
 * Transient storage faults at random points (seeded) of backup, restore, check and forget+prune:
 * errors, lost acknowledgements, torn writes, broken streams and listings that the retry wrapper
 * must absorb.
 * Every command succeeds, and the repository checks clean and restores byte for byte afterwards.
 */
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { backup } from "../../src/engine/backup.ts";
import { checkRepository } from "../../src/engine/check.ts";
import { forgetSnapshotIds } from "../../src/engine/forget.ts";
import { pruneRepository } from "../../src/engine/prune.ts";
import { restore } from "../../src/engine/restore.ts";
import type { FaultRule } from "../../src/storage/faulty.ts";
import { listTree, treeDifferences } from "../helpers/fs-tree.ts";
import { tempDir } from "../helpers/temp.ts";
import {
  backupOnce,
  buildSource,
  checkClean,
  expectRestores,
  faulty,
  initMemory,
  seeded,
  withRepo,
} from "./chaos-fixture.ts";

const tmp = tempDir("backapp-chaos-transient-");
afterAll(() => tmp.cleanup());

const ALWAYS = Number.POSITIVE_INFINITY;

/** Every kind of transient trouble, each on a share of the calls it applies to. */
function storm(p: number): FaultRule[] {
  return [
    { method: "*", probability: p, times: ALWAYS, fault: { kind: "transient" } },
    { method: "put", probability: p, times: ALWAYS, fault: { kind: "lost-ack" } },
    { method: "put", probability: p, times: ALWAYS, fault: { kind: "torn-write" } },
    { method: "getStream", probability: p, times: ALWAYS, fault: { kind: "break-stream", afterBytes: 5000 } },
    { method: "list", probability: 2 * p, times: ALWAYS, fault: { kind: "break-list", afterItems: 1 } },
  ];
}

describe("transient storage faults are absorbed by retries", () => {
  it.each([1, 2, 3])("backup, restore, check and forget --prune under a storm (seed %i)", async (seed) => {
    const memory = await initMemory();
    const { faults, backend } = faulty(memory, storm(0.12), { retry: true, random: seeded(seed) });
    const srcA = buildSource(tmp.path, seed * 10);
    const srcB = buildSource(tmp.path, seed * 10 + 1);
    const first = await backupOnce(backend, srcA);
    expect(first.summary.errors).toEqual([]);
    const second = await backupOnce(backend, srcB);
    await withRepo(backend, async (repo) => {
      const target = join(tmp.path, `restore-${seed}`);
      const r = await restore(repo, second.snapshot, { target });
      expect(r.errors).toEqual([]);
      expect(treeDifferences(listTree(srcB), listTree(join(target, srcB)))).toEqual([]);
      const check = await checkRepository(repo, { readData: true });
      expect(check.errors).toEqual([]);
    });
    await withRepo(
      backend,
      async (repo) => {
        await forgetSnapshotIds(repo, [first.snapshot.id]);
        await pruneRepository(repo, { maxUnusedPct: 0 });
      },
      { lock: "exclusive" },
    );
    expect(faults.injected).toBeGreaterThan(10);
    // Torn writes were overwritten by their retries: nothing damaged is left.
    expect(await checkClean(memory)).toEqual([]);
    await expectRestores(memory, srcB, join(tmp.path, `final-${seed}`));
    // And the next run, with no faults, goes as usual.
    const third = await backupOnce(memory, srcA);
    expect(third.summary.errors).toEqual([]);
  });

  it("a backup whose every pack upload fails once, and whose index write loses its answer, completes", async () => {
    const memory = await initMemory();
    const { faults, backend } = faulty(
      memory,
      [
        { method: "put", match: /^data\//, times: ALWAYS, probability: 0.5, fault: { kind: "transient" } },
        { method: "put", match: /^index\//, fault: { kind: "lost-ack" } },
        { method: "put", match: /^snapshots\//, fault: { kind: "torn-write" } },
      ],
      { retry: true, random: seeded(7) },
    );
    const src = buildSource(tmp.path, 70);
    await withRepo(backend, (repo) => backup(repo, [src]));
    expect(faults.injected).toBeGreaterThan(2);
    expect(await checkClean(memory)).toEqual([]);
    await expectRestores(memory, src, join(tmp.path, "restore-70"));
  });
});
