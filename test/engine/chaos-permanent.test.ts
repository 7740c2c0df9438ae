/**
 * Permanent storage faults at every point of a backup and of a prune (the Nth call of a kind
 * fails, for N = 0, 1, 2, … until a run gets through): the command fails with the injected error,
 * the repository opens, `check --read-data` finds nothing, the next run succeeds, and every
 * snapshot still restores byte for byte.
 */
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { backup } from "../../src/engine/backup.ts";
import { checkRepository } from "../../src/engine/check.ts";
import { forgetSnapshotIds } from "../../src/engine/forget.ts";
import { pruneRepository } from "../../src/engine/prune.ts";
import type { FaultMethod } from "../../src/storage/faulty.ts";
import { createMemoryBackend, type MemoryBackend } from "../../src/storage/memory.ts";
import { PermanentStorageError } from "../../src/util/errors.ts";
import { tempDir } from "../helpers/temp.ts";
import {
  backupOnce,
  buildSource,
  checkClean,
  expectRestores,
  faulty,
  initMemory,
  withRepo,
} from "./chaos-fixture.ts";

const tmp = tempDir("backapp-chaos-permanent-");
afterAll(() => tmp.cleanup());

/** Copies a memory backend's objects (a repository state to start each attempt from). */
function clone(memory: MemoryBackend, into: MemoryBackend): MemoryBackend {
  for (const [name, bytes] of memory.objects) into.objects.set(name, bytes.slice());
  return into;
}

/** Runs `attempt` with the Nth call of `method` failing, N = 0, 1, …, until one run sees no fault. */
async function everyPoint(
  method: FaultMethod,
  attempt: (n: number, backend: ReturnType<typeof faulty>["backend"]) => Promise<void>,
  onFailed: (n: number, error: unknown) => Promise<void>,
): Promise<number> {
  for (let n = 0; n < 400; n++) {
    const { faults, backend } = faulty(await setup.current(), [
      { method, after: n, fault: { kind: "permanent" } },
    ]);
    let error: unknown = null;
    try {
      await attempt(n, backend);
    } catch (e) {
      error = e;
    }
    if (faults.injected === 0) {
      expect(error).toBeNull();
      return n;
    }
    await onFailed(n, error);
  }
  throw new Error("never got through");
}

/** Holds the memory backend of the current attempt (each attempt starts from a fresh copy). */
const setup = { current: async () => null as unknown as MemoryBackend };

describe("torn writes that no retry repairs", () => {
  it("a torn pack fails the backup; it is a harmless leftover that check notes and prune removes", async () => {
    const memory = await initMemory();
    const src = buildSource(tmp.path, 20);
    const { backend } = faulty(memory, [
      { method: "put", match: /^data\//, after: 3, fault: { kind: "torn-write" } },
    ]);
    await expect(backupOnce(backend, src)).rejects.toThrow(/injected torn write/);
    const check = await withRepo(memory, (repo) => checkRepository(repo, { readData: true }));
    expect(check.errors).toEqual([]);
    expect(check.unindexedPacks).toBeGreaterThan(0);
    expect((await backupOnce(memory, src)).summary.errors).toEqual([]);
    const report = await withRepo(memory, (repo) => pruneRepository(repo), { lock: "exclusive" });
    expect(report.packs.unindexed).toBeGreaterThan(0);
    const after = await withRepo(memory, (repo) => checkRepository(repo, { readData: true }));
    expect(after.errors).toEqual([]);
    expect(after.unindexedPacks).toBe(0);
    await expectRestores(memory, src, join(tmp.path, "restore-torn-pack"));
  });

  it("a torn index file is named by check (the only damage); the next backup still works", async () => {
    const memory = await initMemory();
    const src = buildSource(tmp.path, 21);
    const { backend } = faulty(memory, [{ method: "put", match: /^index\//, fault: { kind: "torn-write" } }]);
    await expect(backupOnce(backend, src)).rejects.toThrow(/injected torn write/);
    // The failing backup wrote its index once more on the way out: that copy is whole.
    const indexFiles = [...memory.objects.keys()].filter((k) => k.startsWith("index/"));
    expect(indexFiles).toHaveLength(2);
    const problems = await checkClean(memory);
    expect(problems).toHaveLength(1);
    expect(indexFiles.some((name) => problems[0]!.startsWith(`${name}: `))).toBe(true);
    expect((await backupOnce(memory, src)).summary.errors).toEqual([]);
    await expectRestores(memory, src, join(tmp.path, "restore-torn-index"));
  });
});

describe("permanent storage faults", () => {
  it.each(["put", "get", "list", "stat"] as const)(
    "a backup failing at any %s call fails cleanly; the repository stays consistent and the next backup works",
    async (method) => {
      const base = await initMemory();
      const src = buildSource(tmp.path, 1);
      await backupOnce(base, src);
      const changed = buildSource(tmp.path, 2);
      let memory = base;
      setup.current = async () => {
        memory = clone(base, createMemoryBackend());
        return memory;
      };
      const points = await everyPoint(
        method,
        async (_n, backend) => {
          const parentless = await withRepo(backend, (repo) =>
            backup(repo, [changed], { hostname: "chaos" }),
          );
          expect(parentless.summary.errors).toEqual([]);
        },
        async (n, error) => {
          // A backup reports a storage failure as its error; nothing half-done is visible.
          if (error === null) throw new Error(`point ${n}: the injected fault was swallowed`);
          expect(error, `point ${n}`).toBeInstanceOf(PermanentStorageError);
          expect((error as Error).message).toMatch(/injected permanent fault/);
          // No lock is left behind by a failed backup, whichever call failed.
          expect([...memory.objects.keys()].filter((k) => k.startsWith("locks/"))).toEqual([]);
          expect(await checkClean(memory), `point ${n}`).toEqual([]);
          const next = await backupOnce(memory, changed);
          expect(next.summary.errors).toEqual([]);
          expect(await checkClean(memory)).toEqual([]);
        },
      );
      expect(points).toBeGreaterThan(0);
      await expectRestores(memory, changed, join(tmp.path, `restore-backup-${method}`));
    },
    20_000,
  );

  it.each(["put", "delete", "get", "getStream"] as const)(
    "a prune failing at any %s call fails cleanly; check passes and the next prune finishes",
    async (method) => {
      const base = await initMemory();
      const srcs = [3, 4, 5].map((v) => buildSource(tmp.path, v));
      const ids: string[] = [];
      for (const s of srcs) ids.push((await backupOnce(base, s)).snapshot.id);
      await withRepo(base, (repo) => forgetSnapshotIds(repo, [ids[0]!, ids[1]!]));
      let memory = base;
      setup.current = async () => {
        memory = clone(base, createMemoryBackend());
        return memory;
      };
      const prune = (backend: Parameters<typeof withRepo>[0]) =>
        withRepo(backend, (repo) => pruneRepository(repo, { maxUnusedPct: 0 }), { lock: "exclusive" });
      await everyPoint(
        method,
        async (_n, backend) => {
          await prune(backend);
        },
        async (n, error) => {
          if (error !== null) {
            expect((error as Error).message, `point ${n}`).toMatch(/injected permanent fault/);
          } else {
            // Only releasing the lock failed (close() swallows it): the lock object stays, stale
            // once this process has gone, and unlock removes it then. Do what unlock would.
            expect(method, `point ${n}`).toBe("delete");
            const locks = [...memory.objects.keys()].filter((k) => k.startsWith("locks/"));
            expect(locks).toHaveLength(1);
            memory.objects.delete(locks[0]!);
          }
          expect([...memory.objects.keys()].filter((k) => k.startsWith("locks/"))).toEqual([]);
          expect(await checkClean(memory), `point ${n}`).toEqual([]);
          await prune(memory);
          expect(await checkClean(memory)).toEqual([]);
          await expectRestores(memory, srcs[2]!, join(tmp.path, `restore-prune-${method}-${n}`));
        },
      );
    },
    20_000,
  );
});
