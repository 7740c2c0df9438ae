/**
 * Hard links through the CLI on a local-folder repository: a group of three links in one folder
 * plus one in another comes back as one file with four names; --include of one name restores just
 * that file; a rerun after breaking a link repairs it and leaves the others alone.
 */
import { linkSync, lstatSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { tempDir } from "../../helpers/temp.ts";
import { backapp, expectSameTree, localRepo, makeTree } from "./fixtures.ts";

const dir = tempDir("backapp-cli-hl-");
const out = tempDir("backapp-cli-hl-out-");
afterAll(() => {
  dir.cleanup();
  out.cleanup();
});

const OLD = new Date("2011-12-13T14:15:16.789Z");
const NAMES = ["docs/one", "docs/two", "docs/three", "other/four"];

describe("hard links through the CLI", () => {
  const repo = localRepo(dir.path);
  const src = join(dir.path, "src");
  const inode = (root: string, p: string) => lstatSync(join(root, src, p)).ino;

  it("backs up a link group", async () => {
    makeTree(src, {
      "docs/one": { content: "linked bytes\n", mode: 0o640, mtime: OLD },
      "docs/alone": { content: "linked bytes\n", mode: 0o640, mtime: OLD },
      "other/keep": "other\n",
    });
    linkSync(join(src, "docs/one"), join(src, "docs/two"));
    linkSync(join(src, "docs/one"), join(src, "docs/three"));
    linkSync(join(src, "docs/one"), join(src, "other/four"));
    utimesSync(join(src, "docs"), OLD, OLD);
    utimesSync(join(src, "other"), OLD, OLD);
    expect((await backapp(repo, ["init"])).code).toBe(0);
    expect((await backapp(repo, ["backup", src])).code).toBe(0);
  });

  it("restore recreates the links, and a rerun after breaking one repairs it", async () => {
    const target = join(out.path, "whole");
    const r = await backapp(repo, ["restore", "latest", "--target", target]);
    expect([r.code, r.stderr]).toEqual([0, ""]);
    expect(r.stdout).toMatch(/restored 6 files \([^)]*, 3 of them as hard links\)/);
    expectSameTree(join(target, src), src);
    const first = inode(target, "docs/one");
    for (const p of NAMES) expect(inode(target, p)).toBe(first);
    expect(lstatSync(join(target, src, "docs/one")).nlink).toBe(4);
    expect(inode(target, "docs/alone")).not.toBe(first);

    // A link turned into a separate file with the same bytes and times, another removed.
    const two = join(target, src, "docs/two");
    rmSync(two);
    writeFileSync(two, "linked bytes\n", { mode: 0o640 });
    utimesSync(two, OLD, OLD);
    rmSync(join(target, src, "other/four"));
    const again = await backapp(repo, ["restore", "latest", "--target", target]);
    expect(again.code).toBe(0);
    // The only stderr line says what happens to what the target already holds.
    expect(again.stderr).toMatch(/^note: .* is not empty: [^\n]*\n$/);
    expect(again.stdout).toMatch(/restored 2 files .* 4 already correct/);
    for (const p of NAMES) expect(inode(target, p)).toBe(first);
    expectSameTree(join(target, src), src);

    const third = await backapp(repo, ["restore", "latest", "--target", target]);
    expect(third.stdout).toMatch(/restored 0 files .* 6 already correct/);
    expect(inode(target, "docs/one")).toBe(first);
  });

  /** `restore latest --target TARGET --include SRC/P ...`; expects success. */
  async function restoreIncluding(target: string, paths: string[]): Promise<string> {
    const includes = paths.flatMap((p) => ["--include", `${src}/${p}`]);
    const r = await backapp(repo, ["restore", "latest", "--target", target, ...includes]);
    expect([r.code, r.stderr]).toEqual([0, ""]);
    return r.stdout;
  }

  it("restore --include of one name restores that file alone", async () => {
    const target = join(out.path, "one");
    expect(await restoreIncluding(target, ["docs/three"])).toMatch(/restored 1 file /);
    const three = join(target, src, "docs/three");
    expect(readFileSync(three, "utf8")).toBe("linked bytes\n");
    expect(lstatSync(three).nlink).toBe(1);
    expect(lstatSync(three).mtime.getTime()).toBe(OLD.getTime());
    expect(lstatSync(join(target, src, "docs/one"), { throwIfNoEntry: false })).toBeUndefined();
  });

  it("restore --include of two names in two folders links them, writing the bytes once", async () => {
    const target = join(out.path, "two");
    const stdout = await restoreIncluding(target, ["other/four", "docs/two"]);
    expect(stdout).toMatch(/restored 2 files \(13 B, 1 of them as hard links\)/);
    expect(inode(target, "other/four")).toBe(inode(target, "docs/two"));
    expect(lstatSync(join(target, src, "docs/two")).nlink).toBe(2);
    expect(lstatSync(join(target, src, "docs/one"), { throwIfNoEntry: false })).toBeUndefined();
  });
});
