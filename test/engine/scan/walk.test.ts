import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createPathFilter } from "../../../src/engine/scan/patterns.ts";
import { buildRoots, isInside, normalizePaths } from "../../../src/engine/scan/roots.ts";
import { countTotals, type WalkEntry, walk } from "../../../src/engine/scan/walk.ts";
import { CancelledError } from "../../../src/util/errors.ts";
import { build, dir, file, link } from "../../helpers/fs-tree.ts";
import { tempDir } from "../../helpers/temp.ts";

let tmp: { path: string; cleanup(): void };
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

async function collect(paths: string[], opts: { excludes?: string[]; includes?: string[] } = {}) {
  const out: WalkEntry[] = [];
  for await (const e of walk(normalizePaths(paths), createPathFilter(opts))) out.push(e);
  return out;
}

function describeEntries(entries: WalkEntry[], root: string): string[] {
  return entries
    .filter((e) => e.display.startsWith(root))
    .map((e) => {
      if (e.kind === "error" || e.kind === "skip")
        return `${e.kind} ${e.display.replace(root, "")}: ${e.message}`;
      const p = e.display.startsWith(root) ? e.display.slice(root.length) || "." : e.display;
      return `${e.kind} ${p}${"keep" in e && !e.keep ? " (if not empty)" : ""}`;
    });
}

describe("roots", () => {
  it("resolves, de-duplicates, sorts and drops nested paths", () => {
    expect(normalizePaths(["b", "/x/a", "/x/a/sub", "/x/a/", "./b"], "/cwd")).toEqual(["/cwd/b", "/x/a"]);
    expect(normalizePaths(["/", "/etc"])).toEqual(["/"]);
    expect(isInside("/a/b", "/a")).toBe(true);
    expect(isInside("/ab", "/a")).toBe(false);
  });

  it("builds a trie from /", () => {
    const r = buildRoots(["/home/a/x", "/etc", "/home/b"]);
    expect(r.children.map((c) => c.name)).toEqual(["etc", "home"]);
    expect(r.children[1]!.children.map((c) => [c.name, c.given, c.path])).toEqual([
      ["a", false, "/home/a"],
      ["b", true, "/home/b"],
    ]);
  });
});

describe("walk", () => {
  it("yields entries sorted by name bytes, dirs as enter/leave, from /", async () => {
    const src = join(tmp.path, "src");
    build(src, { b: file("b"), a: dir({ z: file("z"), é: file("e") }), B: link("b"), "a b": file("") });
    const entries = await collect([src]);
    const names = describeEntries(entries, src);
    // the root and the intermediate directories of tmp come first
    expect(entries[0]).toMatchObject({ kind: "enter", name: null });
    expect(names).toEqual([
      "enter .",
      "symlink /B",
      "enter /a",
      "file /a/z",
      "file /a/é",
      "leave /a",
      "file /a b",
      "file /b",
      "leave .",
    ]);
  });

  it("skips FIFOs and sockets with a notice", async () => {
    const src = join(tmp.path, "src");
    mkdirSync(src);
    spawnSync("mkfifo", [join(src, "fifo")]);
    const server = createServer();
    await new Promise<void>((r) => server.listen(join(src, "sock"), r));
    try {
      const names = describeEntries(await collect([src]), src);
      expect(names).toContain("skip /fifo: FIFO skipped");
      expect(names).toContain("skip /sock: socket skipped");
    } finally {
      server.close();
    }
  });

  it("prunes excluded directories and keeps ancestors of includes only when needed", async () => {
    const src = join(tmp.path, "src");
    build(src, {
      keep: dir({ "a.md": file("a"), "b.txt": file("b") }),
      other: dir({ "c.txt": file("c") }),
      node_modules: dir({ "x.md": file("x") }),
    });
    const names = describeEntries(
      await collect([src], { excludes: ["node_modules"], includes: ["*.md"] }),
      src,
    );
    expect(names).toEqual([
      "enter .",
      "enter /keep (if not empty)",
      "file /keep/a.md",
      "leave /keep (if not empty)",
      "enter /other (if not empty)",
      "leave /other (if not empty)",
      "leave .",
    ]);
    expect(names.some((n) => n.includes("node_modules"))).toBe(false);
    expect(names.some((n) => n.includes("c.txt") || n.includes("b.txt"))).toBe(false);
  });

  it("reports a missing given path as an error and goes on", async () => {
    const src = join(tmp.path, "src");
    build(src, { f: file("x") });
    const names = describeEntries(await collect([join(tmp.path, "nope"), src]), src);
    const all = describeEntries(await collect([join(tmp.path, "nope"), src]), tmp.path);
    expect(all).toContain("error /nope: does not exist");
    expect(names).toContain("file /f");
  });

  it("walks a single given file and a given symlink without following it", async () => {
    writeFileSync(join(tmp.path, "one"), "1");
    build(tmp.path, { l: link("/etc") });
    const entries = await collect([join(tmp.path, "one"), join(tmp.path, "l")]);
    const kinds = entries.filter((e) => e.kind === "file" || e.kind === "symlink").map((e) => e.kind);
    expect(kinds).toEqual(["symlink", "file"]);
  });

  it("reports a directory that cannot be listed and keeps it, empty", async () => {
    // Root can read almost anything; /proc/1/map_files refuses listing without CAP_SYS_ADMIN.
    const path = "/proc/1/map_files";
    let listable = true;
    try {
      readdirSync(path);
    } catch {
      listable = false;
    }
    const entries = await collect([path]);
    const errors = entries.filter((e) => e.kind === "error");
    expect(errors.length > 0).toBe(!listable);
    if (!listable)
      expect(errors[0]).toMatchObject({
        display: path,
        message: expect.stringMatching(/EPERM|not permitted|denied/i),
      });
    expect(entries.filter((e) => e.kind === "enter" && e.display === path)).toHaveLength(1);
  });

  it("counts totals and stops when aborted", async () => {
    const src = join(tmp.path, "src");
    build(src, { a: file("12345"), d: dir({ b: file("123") }) });
    const filter = createPathFilter();
    expect(await countTotals([src], filter, undefined, () => {})).toEqual({ files: 2, bytes: 8 });
    const ac = new AbortController();
    ac.abort();
    await expect(countTotals([src], filter, ac.signal, () => {})).rejects.toThrow(CancelledError);
  });
});
