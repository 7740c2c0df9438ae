import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RUNNING_AHEAD, walkAhead } from "../../../src/engine/backup/ahead.ts";
import { backup, startWalk } from "../../../src/engine/backup.ts";
import { ls } from "../../../src/engine/ls.ts";
import type { RepositoryImpl } from "../../../src/engine/repository/repository.ts";
import type { WalkEntry } from "../../../src/engine/scan/walk.ts";
import { memoryRepo } from "../../helpers/engine-repo.ts";
import { build, dir, file } from "../../helpers/fs-tree.ts";
import { tempDir } from "../../helpers/temp.ts";

const entry = (i: number): WalkEntry => ({ kind: "skip", display: String(i), message: "" });

/** Batches of `size` entries numbered from 0; `pulled` counts the batches taken from it. */
function source(batches: number, size: number, failAfter = Number.POSITIVE_INFINITY) {
  const state = { pulled: 0 };
  async function* gen(): AsyncGenerator<WalkEntry[]> {
    for (let b = 0; b < batches; b++) {
      if (b === failAfter) throw new Error("disk gone");
      state.pulled++;
      yield Array.from({ length: size }, (_, i) => entry(b * size + i));
    }
  }
  return { gen: gen(), state };
}

const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
};

async function collect(batches: AsyncGenerator<WalkEntry[]>): Promise<string[]> {
  const out: string[] = [];
  for await (const b of batches) for (const e of b) out.push(e.display);
  return out;
}

describe("walkAhead", () => {
  it("walks on its own up to a bound, then hands over every entry in order", async () => {
    const { gen, state } = source(40, 1000);
    const ahead = walkAhead(gen, new AbortController());
    await turns(100);
    // 16 batches are under the bound of 16,384 entries; the 17th reaches it and the walk waits.
    expect(state.pulled).toBe(17);
    const all = await collect(ahead.batches());
    expect(all).toHaveLength(40_000);
    expect(all.slice(0, 3)).toEqual(["0", "1", "2"]);
    expect(all.at(-1)).toBe("39999");
  });

  it("once the backup takes entries, the walk stays only RUNNING_AHEAD entries ahead", async () => {
    const { gen, state } = source(400, 100);
    const ahead = walkAhead(gen, new AbortController());
    await turns(300);
    expect(state.pulled).toBe(164); // 16,400 entries reach the bound of 16,384
    const batches = ahead.batches();
    for (let taken = 1; taken <= 250; taken++) {
      await batches.next();
      await turns(3);
      // What waits is at most the running bound plus the batch that reached it.
      if (taken > 164) expect((state.pulled - taken) * 100).toBeLessThanOrEqual(RUNNING_AHEAD + 100);
    }
    expect(state.pulled).toBeGreaterThan(250);
    let rest = 0;
    for await (const b of batches) rest += b.length;
    expect(rest).toBe(150 * 100);
  });

  it("passes the walk's failure on after the entries before it", async () => {
    const { gen } = source(5, 10, 2);
    const ahead = walkAhead(gen, new AbortController());
    const seen: string[] = [];
    const run = async () => {
      for await (const b of ahead.batches()) for (const e of b) seen.push(e.display);
    };
    await expect(run()).rejects.toThrow("disk gone");
    expect(seen).toHaveLength(20);
  });

  it("stop aborts the walk and drops what waits", async () => {
    const { gen } = source(40, 1000);
    const controller = new AbortController();
    const ahead = walkAhead(gen, controller);
    await turns(10);
    ahead.stop();
    expect(controller.signal.aborted).toBe(true);
  });
});

describe("startWalk with backup", () => {
  let tmp: { path: string; cleanup(): void };
  let repo: RepositoryImpl;
  beforeEach(async () => {
    tmp = tempDir();
    repo = await memoryRepo();
  });
  afterEach(async () => {
    await repo.close();
    tmp.cleanup();
  });

  it("gives the same snapshot tree as a backup that walks by itself, excludes applied", async () => {
    build(tmp.path, { a: dir({ b: file("b"), skip: file("x") }), c: file("c") });
    const options = { excludes: ["skip"] };
    const walk = startWalk([tmp.path], options);
    await turns(5);
    const early = await backup(repo, [tmp.path], { ...options, walk });
    const plain = await backup(repo, [tmp.path], options);
    expect(early.summary).toMatchObject({ files_new: 2, errors: [] });
    // The folder's own tree (/tmp above it may change meanwhile: other tests run beside this one).
    const folder = async (snapshot: typeof early.snapshot) => {
      for await (const e of ls(repo, snapshot, tmp.path, { recursive: false })) return e.node.subtree;
    };
    expect(await folder(early.snapshot)).toMatch(/^[0-9a-f]{64}$/);
    expect(await folder(early.snapshot)).toBe(await folder(plain.snapshot));
  });
});
