/**
 * Faults on the read side: restore and check over a backend whose reads fail (permanently), come
 * back short, corrupted or broken. Restore reports the files it could not write and never leaves a
 * partial file under its real name; a rerun over healthy storage is exact. Check names exactly the
 * packs whose reads were damaged, and fails cleanly when it cannot list.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkRepository } from "../../src/engine/check.ts";
import { packName } from "../../src/engine/repository/pack-format.ts";
import { restore } from "../../src/engine/restore.ts";
import type { Fault } from "../../src/storage/faulty.ts";
import type { MemoryBackend } from "../../src/storage/memory.ts";
import { PermanentStorageError } from "../../src/util/errors.ts";
import { listTree, treeDifferences } from "../helpers/fs-tree.ts";
import { tempDir } from "../helpers/temp.ts";
import { backupOnce, buildSource, faulty, initMemory, seeded, withRepo } from "./chaos-fixture.ts";

const tmp = tempDir("backapp-chaos-read-");
let memory: MemoryBackend;
let src: string;
let dataPacks: string[];
beforeAll(async () => {
  memory = await initMemory();
  src = buildSource(tmp.path, 1);
  await backupOnce(memory, src);
  dataPacks = await withRepo(memory, async (repo) => {
    const withData = new Set([...repo.index.entries()].filter((e) => e.type === "data").map((e) => e.pack));
    return [...withData].map(packName).sort();
  });
  expect(dataPacks.length).toBeGreaterThan(4);
});
afterAll(() => tmp.cleanup());

let targets = 0;

/** No temporary restore file is left anywhere below `root`. */
function partFiles(root: string): string[] {
  if (!existsSync(root)) return [];
  return (readdirSync(root, { recursive: true }) as string[]).filter((p) => p.includes(".backapp-part-"));
}

describe("restore under read faults", () => {
  it.each<[string, Fault]>([
    ["permanent errors", { kind: "permanent" }],
    ["short reads", { kind: "short-read" }],
    ["flipped bytes", { kind: "corrupt", at: 100 }],
    ["broken streams (no retry)", { kind: "break-stream", afterBytes: 3000 }],
  ])("%s on some pack reads fail only the files that need them; a rerun is exact", async (_, fault) => {
    // The first pack read always fails, then 40 % of the others: how many ranges a restore asks
    // for depends on timing, so a seed alone could draw no fault at all (it did, once, in CI).
    const { faults, backend } = faulty(
      memory,
      [
        { method: "getStream", match: /^data\//, times: 1, fault },
        { method: "getStream", match: /^data\//, probability: 0.4, times: Number.POSITIVE_INFINITY, fault },
      ],
      { random: seeded(targets + 11) },
    );
    const target = join(tmp.path, `restore-${targets++}`);
    await withRepo(backend, async (repo) => {
      const [snapshot] = await repo.listSnapshots();
      const r = await restore(repo, snapshot!, { target });
      expect(faults.injected).toBeGreaterThan(0);
      expect(r.errors.length).toBeGreaterThan(0);
      for (const e of r.errors) expect(e.path.startsWith(src)).toBe(true);
      // The failed files are not there under their names, and no temporary file is left.
      for (const e of r.errors) expect(existsSync(join(target, e.path)), e.path).toBe(false);
      expect(partFiles(target)).toEqual([]);
    });
    await withRepo(memory, async (repo) => {
      const [snapshot] = await repo.listSnapshots();
      const again = await restore(repo, snapshot!, { target });
      expect(again.errors).toEqual([]);
      expect(again.files_skipped).toBeGreaterThan(0);
    });
    expect(treeDifferences(listTree(src), listTree(join(target, src)))).toEqual([]);
  });
});

describe("check under read faults", () => {
  it.each<[string, Fault, RegExp]>([
    ["a permanent error", { kind: "permanent" }, /cannot read: .*injected permanent fault/],
    ["a short read", { kind: "short-read" }, /does not match its name|header|length/],
    ["a flipped byte", { kind: "corrupt" }, /does not match its name/],
  ])(
    "%s reading one pack names that pack and the files with data in it, nothing else",
    async (_, fault, message) => {
      const victim = dataPacks[2]!;
      const { backend } = faulty(memory, [{ method: "get", match: (n) => n === victim, fault }]);
      const result = await withRepo(backend, (repo) => checkRepository(repo, { readData: true }));
      // The pack itself, and each file with data in it (check names what the damage affects).
      const packId = victim.slice(victim.lastIndexOf("/") + 1);
      const onPack = result.errors.filter((e) => e.object === victim);
      const onFiles = result.errors.filter((e) => e.object !== victim);
      expect(onPack.length).toBeGreaterThan(0);
      expect(onPack.map((e) => e.message).join("\n")).toMatch(message);
      expect(onFiles.length).toBeGreaterThan(0);
      for (const e of onFiles) {
        expect(e.object).toMatch(/^file \//);
        expect(e.message).toContain(`damaged pack ${packId.slice(0, 12)}`);
      }
      // The storage itself is fine: a check without the fault finds nothing.
      const clean = await withRepo(memory, (repo) => checkRepository(repo, { readData: true }));
      expect(clean.errors).toEqual([]);
    },
  );

  it("a listing that fails permanently fails check with the storage error, not a damage report", async () => {
    const { backend } = faulty(memory, [{ method: "list", match: "data/", fault: { kind: "permanent" } }]);
    const err = await withRepo(backend, (repo) => checkRepository(repo)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentStorageError);
    expect((err as Error).message).toMatch(/list data\/: injected permanent fault/);
  });

  it("a snapshot or tree read that fails is named, with the storage error", async () => {
    const { backend } = faulty(memory, [
      { method: "get", match: "snapshots/", fault: { kind: "short-read" } },
    ]);
    const result = await withRepo(backend, (repo) => checkRepository(repo));
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]!.object).toMatch(/^snapshots\/[0-9a-f]{64}$/);
    expect(result.errors[0]!.message).toMatch(/does not match its name/);
  });
});
