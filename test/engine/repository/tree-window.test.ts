import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { packName } from "../../../src/engine/repository/pack-format.ts";
import type { RepositoryImpl } from "../../../src/engine/repository/repository.ts";
import { TreeWindow } from "../../../src/engine/repository/tree-window.ts";
import type { TreeNode } from "../../../src/engine/types.ts";
import type { Backend } from "../../../src/storage/backend.ts";
import { createMemoryBackend } from "../../../src/storage/memory.ts";
import { IntegrityError } from "../../../src/util/errors.ts";
import { memoryRepo } from "../../helpers/engine-repo.ts";

/** Counts reads of pack objects. */
function countingBackend(inner: Backend) {
  const state = { packReads: 0 };
  const backend = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === "get") {
        return (...args: Parameters<Backend["get"]>) => {
          if (args[0].startsWith("data/")) state.packReads++;
          return target.get(...args);
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  return { backend, state };
}

const META = { mode: 0o755, uid: 0, gid: 0, mtime: "1", ctime: "1", inode: 1, device: 1, size: 0 };

let repo: RepositoryImpl;
let counted: ReturnType<typeof countingBackend>;
beforeEach(async () => {
  counted = countingBackend(createMemoryBackend());
  repo = await memoryRepo(undefined, counted.backend);
});
afterEach(() => repo.close());

async function manyTrees(n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const node: TreeNode = { name: `d${i}`, type: "dir", ...META, subtree: "ab".repeat(32) };
    ids.push(await repo.saveTree({ nodes: [node] }));
  }
  await repo.flush();
  return ids;
}

describe("tree window", () => {
  it("loads many trees of a pack with a few reads, each checked", async () => {
    const ids = await manyTrees(40);
    counted.state.packReads = 0;
    for (const [i, id] of ids.entries()) expect((await repo.loadTree(id)).nodes[0]!.name).toBe(`d${i}`);
    expect(counted.state.packReads).toBe(1);
    // handed out once: a second walk reads again
    await repo.loadTree(ids[3]!);
    expect(counted.state.packReads).toBe(2);
  });

  it("detects a damaged neighbour when it is used, not when it is read along", async () => {
    const ids = await manyTrees(5);
    const e = repo.lookup("tree", ids[2]!)!;
    const bytes = await counted.backend.get(packName(e.pack));
    bytes[e.offset + 3]! ^= 0x10;
    await counted.backend.put(packName(e.pack), bytes);
    expect((await repo.loadTree(ids[0]!)).nodes).toHaveLength(1);
    await expect(repo.loadTree(ids[2]!)).rejects.toThrow(IntegrityError);
    expect((await repo.loadTree(ids[4]!)).nodes).toHaveLength(1);
  });

  it("keeps at most maxBytes of neighbours and reads a window around the miss", async () => {
    const ids = await manyTrees(30);
    const entries = ids.map((id) => repo.lookup("tree", id)!);
    const reads: Array<[number, number]> = [];
    const w = new TreeWindow(
      {
        index: repo.index,
        readRange: (pack, offset, length) => {
          reads.push([offset, length]);
          return counted.backend.get(packName(pack), { offset, length });
        },
      },
      { window: entries[0]!.length * 8, maxBytes: entries[0]!.length * 3 },
    );
    const mid = entries[15]!;
    const stored = await w.stored(mid);
    expect(repo.openStoredBlob(mid, stored).byteLength).toBe(mid.rawLength);
    expect(reads).toHaveLength(1);
    expect(reads[0]![0]).toBeLessThan(mid.offset);
    // neighbours beyond the byte bound were dropped, the newest kept
    await w.stored(entries[18]!);
    expect(reads).toHaveLength(1);
    await w.stored(entries[12]!);
    expect(reads).toHaveLength(2);
  });
});
