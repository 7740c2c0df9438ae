import { describe, expect, it } from "vitest";
import { TreeCache } from "../../../src/engine/browse/trees.ts";
import type { BlobId, Tree } from "../../../src/engine/types.ts";
import { CancelledError } from "../../../src/util/errors.ts";
import { fileNode } from "./fixture.ts";

/** A tree store with `n` nodes per tree that counts loads and can hold them back. */
function store(n: number) {
  const loads: BlobId[] = [];
  let release: () => void = () => {};
  let gate: Promise<void> | null = null;
  return {
    loads,
    hold() {
      gate = new Promise((r) => {
        release = r;
      });
    },
    open: () => release(),
    async loadTree(id: BlobId): Promise<Tree> {
      loads.push(id);
      if (gate) await gate;
      if (id === "bad") throw new Error("damaged");
      return { nodes: Array.from({ length: n }, (_, i) => fileNode(`${id}-${i}`, 0, [])) };
    },
  };
}

describe("TreeCache", () => {
  it("loads each id once, shares loads in flight, and drops the least recently used past its bound", async () => {
    const s = store(10);
    const cache = new TreeCache(s, 30);
    const [a1, a2] = await Promise.all([cache.loadTree("a"), cache.loadTree("a")]);
    expect(a1).toBe(a2);
    await cache.loadTree("b");
    await cache.loadTree("c");
    await cache.loadTree("a"); // a is now the most recent
    await cache.loadTree("d"); // 40 nodes > 30: b goes
    expect(cache.size).toBe(3);
    await cache.loadTree("a");
    await cache.loadTree("b");
    expect(s.loads).toEqual(["a", "b", "c", "d", "b"]);
  });

  it("does not keep failures, and a caller's abort does not cancel the shared load", async () => {
    const s = store(1);
    const cache = new TreeCache(s);
    await expect(cache.loadTree("bad")).rejects.toThrow("damaged");
    await expect(cache.loadTree("bad")).rejects.toThrow("damaged");
    expect(s.loads).toEqual(["bad", "bad"]);
    s.hold();
    const ac = new AbortController();
    const first = cache.loadTree("x", ac.signal);
    const second = cache.loadTree("x");
    ac.abort();
    await expect(first).rejects.toThrow(CancelledError);
    s.open();
    expect((await second).nodes[0]!.name).toBe("x-0");
    expect(s.loads.filter((id) => id === "x")).toHaveLength(1);
  });
});
