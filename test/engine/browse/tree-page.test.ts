import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { listTreePage, type TreeItem } from "../../../src/engine/browse/tree-page.ts";
import {
  decodePathToken,
  displayName,
  encodePathToken,
  TreeCache,
} from "../../../src/engine/browse/trees.ts";
import type { Snapshot } from "../../../src/engine/types.ts";
import { NotFoundError, ValidationError } from "../../../src/util/errors.ts";
import { awkwardFixture, dataBlob, type Fixture, fileNode, LATIN1_STORED } from "./fixture.ts";

let fx: Fixture;
let snapshot: Snapshot;
beforeEach(async () => {
  ({ fx, snapshot } = await awkwardFixture());
});
afterEach(() => fx.cleanup());

async function allPages(
  trees: TreeCache,
  path: string,
  limit: number,
): Promise<{ items: TreeItem[]; pages: number }> {
  const items: TreeItem[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page = await listTreePage(trees, snapshot, path, { cursor, limit });
    items.push(...page.items);
    cursor = page.nextCursor;
    pages++;
  } while (cursor);
  return { items, pages };
}

describe("listTreePage", () => {
  it("lists a directory with names as stored, sizes, modes, mtimes and symlink targets", async () => {
    const trees = new TreeCache(fx.repo);
    const page = await listTreePage(trees, snapshot, `${fx.src}/docs`);
    expect(page.path).toBe(`${fx.src}/docs`);
    expect(page.nextCursor).toBeNull();
    const names = page.items.map((i) => i.name);
    expect(names).toContain(LATIN1_STORED);
    expect(names).toContain("ünïcödé 日本語.txt");
    const report = page.items.find((i) => i.name === "Report FINAL.pdf")!;
    expect(report).toMatchObject({ type: "file", size: 9, mtime: "2020-09-13T12:26:40.123Z" });
    expect(report.mode & 0o777).toBeGreaterThan(0);
    expect(page.items.find((i) => i.name === "empty")).toMatchObject({ type: "dir", size: 0 });
    const deep = await listTreePage(trees, snapshot, `${fx.src}/deep/`);
    expect(deep.items.find((i) => i.name === "link")).toMatchObject({
      type: "symlink",
      target: "../docs/Report FINAL.pdf",
    });
    const root = await listTreePage(trees, snapshot, "/");
    expect(root).toMatchObject({ path: "/", items: [{ name: fx.src.split("/")[1], type: "dir" }] });
  });

  it("pages with a keyset cursor that gives every entry once, in order", async () => {
    const trees = new TreeCache(fx.repo);
    const whole = await listTreePage(trees, snapshot, `${fx.src}/docs`, { limit: 1000 });
    const paged = await allPages(trees, `${fx.src}/docs`, 2);
    expect(paged.items).toEqual(whole.items);
    expect(paged.pages).toBe(Math.ceil(whole.items.length / 2));
  });

  it("pages through a synthetic 3,000-entry directory with escaped bytes in names", async () => {
    const blob = await dataBlob(fx.repo, new Uint8Array([1]));
    const names = Array.from({ length: 3000 }, (_, i) => (i % 7 === 0 ? `f\udcff${i}` : `f${i}é`));
    const dir = await fx.repo.saveTree({ nodes: names.map((n) => fileNode(n, 1, [blob])) });
    await fx.repo.flush();
    const synthetic = { ...snapshot, tree: dir };
    const trees = new TreeCache(fx.repo);
    const items: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await listTreePage(trees, synthetic, "/", { cursor, limit: 999 });
      items.push(...page.items.map((i) => i.name));
      cursor = page.nextCursor;
    } while (cursor);
    expect(items.length).toBe(3000);
    expect(new Set(items)).toEqual(new Set(names));
    expect(trees.size).toBe(1);
    const page2 = await listTreePage(trees, synthetic, "/", {
      limit: 10,
      cursor: (await listTreePage(trees, synthetic, "/", { limit: 10 })).nextCursor,
    });
    expect(page2.items[0]!.name).toBe(items[10]);
    // The longest name there can be (4096 three-byte characters) still makes a valid cursor.
    const longest = "語".repeat(4096);
    const two = {
      ...snapshot,
      tree: await fx.repo.saveTree({ nodes: [fileNode(longest, 1, [blob]), fileNode("龍", 1, [blob])] }),
    };
    await fx.repo.flush();
    const p1 = await listTreePage(trees, two, "/", { limit: 1 });
    expect(p1.items[0]!.name).toBe(longest);
    expect((await listTreePage(trees, two, "/", { limit: 1, cursor: p1.nextCursor })).items[0]!.name).toBe(
      "龍",
    );
  });

  it("resolves a non-UTF-8 name stored or as displayed (U+FFFD)", async () => {
    const trees = new TreeCache(fx.repo);
    await expect(listTreePage(trees, snapshot, `${fx.src}/docs/${LATIN1_STORED}`)).rejects.toThrow(
      /not a directory/,
    );
    await expect(listTreePage(trees, snapshot, `${fx.src}/docs/caf\uFFFD.txt`)).rejects.toThrow(
      /not a directory/,
    );
  });

  it("refuses traversal, NUL, bad cursors and limits; missing paths are not found", async () => {
    const trees = new TreeCache(fx.repo);
    for (const bad of [
      `${fx.src}/..`,
      `${fx.src}/docs/../docs`,
      "/./tmp",
      `${fx.src}\0`,
      "..",
      "x".repeat(70_000),
    ]) {
      await expect(listTreePage(trees, snapshot, bad)).rejects.toThrow(ValidationError);
    }
    await expect(listTreePage(trees, snapshot, `${fx.src}/nope`)).rejects.toThrow(NotFoundError);
    await expect(listTreePage(trees, snapshot, `${fx.src}/docs/empty.txt/x`)).rejects.toThrow(NotFoundError);
    await expect(listTreePage(trees, snapshot, `${fx.src}/docs/empty.txt`)).rejects.toThrow(ValidationError);
    for (const cursor of ["!!", "AA", "zzzz", "a".repeat(17_000)]) {
      await expect(listTreePage(trees, snapshot, "/", { cursor })).rejects.toThrow(ValidationError);
    }
    for (const limit of [0, 1001, 1.5]) {
      await expect(listTreePage(trees, snapshot, "/", { limit })).rejects.toThrow(ValidationError);
    }
    // Repeated and trailing slashes are only separators.
    const a = await listTreePage(trees, snapshot, `/${fx.src}//docs///`);
    expect(a.path).toBe(`${fx.src}/docs`);
  });
});

describe("path tokens", () => {
  it("carry any stored path losslessly through a URL", async () => {
    const path = `${fx.src}/docs/${LATIN1_STORED}`;
    const token = encodePathToken(path);
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodePathToken(token)).toBe(path);
    expect(displayName(LATIN1_STORED)).toBe("caf\uFFFD.txt");
    expect(decodePathToken(encodePathToken("/日本/ü"))).toBe("/日本/ü");
    expect(() => decodePathToken("a+b")).toThrow(ValidationError);
    const page = await listTreePage(
      new TreeCache(fx.repo),
      snapshot,
      decodePathToken(encodePathToken(`${fx.src}/docs`)),
    );
    expect(page.items.map((i) => i.name)).toContain(LATIN1_STORED);
  });
});
