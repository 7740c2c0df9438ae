import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type SearchItem, type SearchOptions, searchSnapshot } from "../../../src/engine/browse/search.ts";
import { TreeCache } from "../../../src/engine/browse/trees.ts";
import type { Snapshot } from "../../../src/engine/types.ts";
import { CancelledError, ValidationError } from "../../../src/util/errors.ts";
import { awkwardFixture, dataBlob, deepTree, type Fixture, fileNode, LATIN1_STORED } from "./fixture.ts";

let fx: Fixture;
let snapshot: Snapshot;
beforeEach(async () => {
  ({ fx, snapshot } = await awkwardFixture());
});
afterEach(() => fx.cleanup());

async function searchAll(snap: Pick<Snapshot, "tree">, q: string, options: SearchOptions = {}) {
  const trees = new TreeCache(fx.repo);
  const items: SearchItem[] = [];
  let cursor: string | null = null;
  let calls = 0;
  do {
    const page = await searchSnapshot(trees, snap, q, { ...options, cursor });
    items.push(...page.items);
    cursor = page.nextCursor;
    calls++;
  } while (cursor);
  return { items, calls, paths: items.map((i) => i.path) };
}

describe("searchSnapshot", () => {
  it("finds names by case-insensitive substring, with type and size", async () => {
    const { items } = await searchAll(snapshot, "report");
    expect(items).toEqual([
      { path: `${fx.src}/docs/Report FINAL.pdf`, type: "file", size: 9, mtime: "2020-09-13T12:26:40.123Z" },
    ]);
    const levels = (await searchAll(snapshot, "LEVEL-1")).paths.map((p) => p.split("/").pop()!.slice(0, 9));
    expect(levels).toEqual(["level-1-x", "level-10-", "level-11-"]);
    const caf = (await searchAll(snapshot, "caf")).paths;
    expect(caf).toHaveLength(2);
    expect(caf[0]).toMatch(new RegExp(`/level-11-x+/${LATIN1_STORED}n{150}$`));
    expect(caf[1]).toBe(`${fx.src}/docs/${LATIN1_STORED}`);
    expect((await searchAll(snapshot, "日本")).paths).toEqual([`${fx.src}/docs/ünïcödé 日本語.txt`]);
  });

  it("matches globs against names, or against the path when they hold a slash", async () => {
    expect((await searchAll(snapshot, "*.PDF")).paths).toEqual([`${fx.src}/docs/Report FINAL.pdf`]);
    const txt = (await searchAll(snapshot, "*.txt")).paths;
    expect(txt).toHaveLength(6);
    expect((await searchAll(snapshot, "docs/e*")).paths).toEqual([
      `${fx.src}/docs/empty`,
      `${fx.src}/docs/empty.txt`,
    ]);
    expect((await searchAll(snapshot, "deep/**/n*.txt")).paths).toEqual([
      expect.stringMatching(/n{150}\.txt$/),
    ]);
    // "auto" takes [ as glob; "substring" takes it literally.
    expect((await searchAll(snapshot, "[r]eport*")).paths).toHaveLength(1);
    expect((await searchAll(snapshot, "[r]eport*", { mode: "substring" })).paths).toHaveLength(0);
  });

  it("pages by cursor and by scan budget, giving every match once", async () => {
    const all = await searchAll(snapshot, "e");
    expect(all.calls).toBe(1);
    const byOne = await searchAll(snapshot, "e", { limit: 1 });
    expect(byOne.paths).toEqual(all.paths);
    expect(byOne.calls).toBeGreaterThanOrEqual(all.paths.length);
    const budget = await searchAll(snapshot, "e", { maxScanned: 3 });
    expect(budget.paths).toEqual(all.paths);
    expect(budget.calls).toBeGreaterThan(5);
  });

  it("walks a hostile 20,000-deep tree without overflowing, and stops early after a page", async () => {
    const blob = await dataBlob(fx.repo, new Uint8Array([7]));
    const top = await deepTree(fx.repo, 20_000, [fileNode("needle.txt", 1, [blob])]);
    await fx.repo.flush();
    const deep = { ...snapshot, tree: top };
    const found = await searchAll(deep, "needle");
    expect(found.items).toHaveLength(1);
    expect(found.items[0]!.path.length).toBe(20_000 * 2 + "/needle.txt".length);
    const trees = new TreeCache(fx.repo);
    const first = await searchSnapshot(trees, deep, "d", { limit: 5 });
    expect(first.items.map((i) => i.path)).toEqual(["/d", "/d/d", "/d/d/d", "/d/d/d/d", "/d/d/d/d/d"]);
    expect(first.scanned).toBe(5);
    const second = await searchSnapshot(trees, deep, "d", { limit: 2, cursor: first.nextCursor });
    expect(second.items.map((i) => i.path)).toEqual(["/d/d/d/d/d/d", "/d/d/d/d/d/d/d"]);
  });

  it("is cancelled by its signal and refuses bad queries and foreign cursors", async () => {
    const ac = new AbortController();
    ac.abort();
    const trees = new TreeCache(fx.repo);
    await expect(searchSnapshot(trees, snapshot, "x", { signal: ac.signal })).rejects.toThrow(CancelledError);
    for (const q of ["", "x".repeat(2000), "a\0b"]) {
      await expect(searchSnapshot(trees, snapshot, q)).rejects.toThrow(ValidationError);
    }
    const page = await searchSnapshot(trees, snapshot, "e", { limit: 1 });
    const other = { tree: await fx.repo.saveTree({ nodes: [] }) };
    await fx.repo.flush();
    await expect(searchSnapshot(trees, other, "e", { cursor: page.nextCursor })).rejects.toThrow(
      ValidationError,
    );
    const forged = Buffer.from(`s1:${snapshot.tree.slice(0, 16)}:0.99999`).toString("base64url");
    await expect(searchSnapshot(trees, snapshot, "e", { cursor: forged })).rejects.toThrow(ValidationError);
    await expect(searchSnapshot(trees, snapshot, "e", { cursor: "@@" })).rejects.toThrow(ValidationError);
  });
});
