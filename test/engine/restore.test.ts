import { randomBytes } from "node:crypto";
import {
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { backup } from "../../src/engine/backup.ts";
import { initRepository, openRepository } from "../../src/engine/repository/open.ts";
import type { RepositoryImpl } from "../../src/engine/repository/repository.ts";
import { tempName } from "../../src/engine/restore/fs-ops.ts";
import { restore } from "../../src/engine/restore.ts";
import { createLocalBackend } from "../../src/storage/local.ts";
import { CancelledError } from "../../src/util/errors.ts";
import { memoryRepo, spyRepo } from "../helpers/engine-repo.ts";
import { build, dir, file, link, listTree, treeDifferences } from "../helpers/fs-tree.ts";
import { tempDir } from "../helpers/temp.ts";

const T = 1_600_000_000.123456; // a fixed mtime with sub-second precision

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

function sampleTree() {
  return {
    "plain.txt": file("hello\n", { mtime: T }),
    "empty file": file("", { mtime: T + 1 }),
    "big.bin": file(new Uint8Array(randomBytes(700 * 1024)), { mtime: T + 2 }),
    "run.sh": file("#!/bin/sh\necho hi\n", { mode: 0o755, mtime: T + 3 }),
    "read-only": file("ro", { mode: 0o444, mtime: T + 4 }),
    "ünïcödé ✓ name": file("unicode", { mtime: T + 5 }),
    "line\nbreak": file("newline in name", { mtime: T + 6 }),
    "  spaces  ": file("spaces", { mtime: T + 7 }),
    "link-rel": link("plain.txt"),
    "link-dangling": link("../nowhere/at all"),
    "link-abs": link("/etc/hostname"),
    "empty dir": dir({}, { mtime: T + 8 }),
    nested: dir(
      {
        deeper: dir({ "leaf.txt": file("leaf", { mtime: T + 9 }) }, { mode: 0o750, mtime: T + 10 }),
        "dup-a": file("same content", { mtime: T + 11 }),
        "dup-b": file("same content", { mtime: T + 12 }),
      },
      { mtime: T + 13 },
    ),
    "locked dir": dir({ "inside.txt": file("x", { mtime: T }) }, { mode: 0o555, mtime: T + 14 }),
  };
}

describe("backup and restore round trip", () => {
  it("restores files, dirs, symlinks, modes and mtimes byte for byte", async () => {
    const src = join(tmp.path, "src");
    build(src, sampleTree());
    const { snapshot, summary } = await backup(repo, [src], { hostname: "h" });
    expect(summary.errors).toEqual([]);
    expect(summary.files_new).toBe(12);
    expect(snapshot.paths).toEqual([src]);
    const target = join(tmp.path, "out");
    const r = await restore(repo, snapshot, { target });
    expect(r.errors).toEqual([]);
    expect(r.files_restored).toBe(12);
    expect(r.symlinks).toBe(3);
    expect(treeDifferences(listTree(src), listTree(join(target, src)))).toEqual([]);
    expect(readlinkSync(join(target, src, "link-dangling"))).toBe("../nowhere/at all");
  });

  it("round-trips names that are not valid UTF-8", async () => {
    const src = join(tmp.path, "src");
    mkdirSync(src);
    const bad = Buffer.concat([Buffer.from(`${src}/`), Buffer.from([0x61, 0xff, 0xfe, 0x62])]);
    writeFileSync(bad, "latin-1 name");
    symlinkSync(
      Buffer.from([0x74, 0xe9]),
      Buffer.concat([Buffer.from(`${src}/`), Buffer.from([0x6c, 0xe9])]),
    );
    const { snapshot, summary } = await backup(repo, [src]);
    expect(summary.errors).toEqual([]);
    const target = join(tmp.path, "out");
    await restore(repo, snapshot, { target });
    expect(treeDifferences(listTree(src), listTree(join(target, src)))).toEqual([]);
  });

  it("verifies restored files and resumes by skipping correct ones", async () => {
    const src = join(tmp.path, "src");
    build(src, sampleTree());
    const { snapshot } = await backup(repo, [src]);
    const target = join(tmp.path, "out");
    const first = await restore(repo, snapshot, { target, verify: true });
    expect(first.files_verified).toBe(12);
    writeFileSync(join(target, src, "plain.txt"), "damaged"); // different size and mtime
    const spy = spyRepo(repo);
    const second = await restore(spy, snapshot, { target, verify: true });
    expect(second.errors).toEqual([]);
    expect(second.files_restored).toBe(1);
    expect(second.files_skipped).toBe(11);
    expect(spy.loadedBlobs).toBe(1);
    expect(readFileSync(join(target, src, "plain.txt"), "utf8")).toBe("hello\n");
    expect(treeDifferences(listTree(src), listTree(join(target, src)))).toEqual([]);
  });

  it("never writes through a symlink planted at a file path", async () => {
    const src = join(tmp.path, "src");
    build(src, { "victim.txt": file("restored content") });
    const { snapshot } = await backup(repo, [src]);
    const target = join(tmp.path, "out");
    const outside = join(tmp.path, "outside.txt");
    writeFileSync(outside, "untouched");
    mkdirSync(join(target, src), { recursive: true });
    symlinkSync(outside, join(target, src, "victim.txt"));
    const r = await restore(repo, snapshot, { target });
    expect(r.errors).toEqual([]);
    expect(readFileSync(outside, "utf8")).toBe("untouched");
    expect(lstatSync(join(target, src, "victim.txt")).isFile()).toBe(true);
    expect(readFileSync(join(target, src, "victim.txt"), "utf8")).toBe("restored content");
  });

  it("replaces a symlink planted at a directory path or at the temporary name", async () => {
    const src = join(tmp.path, "src");
    build(src, { sub: dir({ "f.txt": file("inside") }), g: file("gee") });
    const { snapshot } = await backup(repo, [src]);
    const target = join(tmp.path, "out");
    const outside = join(tmp.path, "outside");
    mkdirSync(outside);
    writeFileSync(join(outside, "bait"), "untouched");
    mkdirSync(join(target, src), { recursive: true });
    symlinkSync(outside, join(target, src, "sub"));
    const temp = tempName(Buffer.from(join(target, src)), Buffer.from("g")).toString();
    symlinkSync(join(outside, "bait"), temp);
    const r = await restore(repo, snapshot, { target });
    expect(r.errors).toEqual([]);
    expect(readdirSync(outside)).toEqual(["bait"]);
    expect(readFileSync(join(outside, "bait"), "utf8")).toBe("untouched");
    expect(lstatSync(join(target, src, "sub")).isDirectory()).toBe(true);
    expect(readFileSync(join(target, src, "sub", "f.txt"), "utf8")).toBe("inside");
    expect(readFileSync(join(target, src, "g"), "utf8")).toBe("gee");
    expect(existsSync(temp)).toBe(false);
  });

  it("restores only the included sub-paths and their ancestors", async () => {
    const src = join(tmp.path, "src");
    build(src, sampleTree());
    const { snapshot } = await backup(repo, [src]);
    const target = join(tmp.path, "out");
    const r = await restore(repo, snapshot, { target, includes: [`${src}/nested/deeper`, `${src}/missing`] });
    expect(existsSync(join(target, src, "nested/deeper/leaf.txt"))).toBe(true);
    expect(existsSync(join(target, src, "nested/dup-a"))).toBe(false);
    expect(existsSync(join(target, src, "plain.txt"))).toBe(false);
    expect(r.files_restored).toBe(1);
    expect(r.errors).toEqual([{ path: `${src}/missing`, message: "not found in the snapshot" }]);
  });
});

describe("restore details", () => {
  it("replaces entries of the wrong kind and restores owners as root", async () => {
    const src = join(tmp.path, "src");
    build(src, { f: file("file"), d: dir({ inner: file("i") }), l: link("f") });
    if (process.getuid?.() === 0) chownSync(join(src, "f"), 1234, 5678);
    const { snapshot } = await backup(repo, [src]);
    const out = join(tmp.path, "out", src);
    mkdirSync(join(out, "f"), { recursive: true }); // a directory where a file belongs
    writeFileSync(join(out, "d"), "a file where a directory belongs");
    mkdirSync(join(out, "l")); // a directory where a symlink belongs
    const r = await restore(repo, snapshot, { target: join(tmp.path, "out") });
    expect(r.errors).toEqual([]);
    expect(readFileSync(join(out, "f"), "utf8")).toBe("file");
    expect(readFileSync(join(out, "d", "inner"), "utf8")).toBe("i");
    expect(readlinkSync(join(out, "l"))).toBe("f");
    if (process.getuid?.() === 0) expect(statSync(join(out, "f"))).toMatchObject({ uid: 1234, gid: 5678 });
    // a second run finds everything in place
    const again = await restore(repo, snapshot, { target: join(tmp.path, "out") });
    expect(again).toMatchObject({ files_restored: 0, files_skipped: 2, errors: [] });
  });

  it("refuses a target that is not a folder, naming it", async () => {
    const src = join(tmp.path, "src");
    build(src, { f: file("x") });
    const { snapshot } = await backup(repo, [src]);
    const notDir = join(tmp.path, "a-file");
    writeFileSync(notDir, "");
    for (const target of [notDir, join(notDir, "below")]) {
      await expect(restore(repo, snapshot, { target })).rejects.toThrow(
        `cannot restore into ${target}: it is not a folder`,
      );
    }
  });

  it("rewrites a same-size, same-mtime file with different content (if-changed compares content); never keeps it", async () => {
    const src = join(tmp.path, "src");
    build(src, { f: file("original", { mtime: T }) });
    const { snapshot } = await backup(repo, [src]);
    const target = join(tmp.path, "out");
    await restore(repo, snapshot, { target });
    writeFileSync(join(target, src, "f"), "ORIGINAL");
    utimesSync(join(target, src, "f"), T, T);
    const never = await restore(repo, snapshot, { target, overwrite: "never" });
    expect(never.files_skipped).toBe(1);
    expect(readFileSync(join(target, src, "f"), "utf8")).toBe("ORIGINAL");
    const plain = await restore(repo, snapshot, { target });
    expect(plain).toMatchObject({ files_restored: 1, files_skipped: 0 });
    expect(readFileSync(join(target, src, "f"), "utf8")).toBe("original");
    const checked = await restore(repo, snapshot, { target, verify: true });
    expect(checked).toMatchObject({ files_skipped: 1, files_verified: 1 });
  });

  it("stops with CancelledError and resumes on the next run", async () => {
    const src = join(tmp.path, "src");
    const files: Record<string, ReturnType<typeof file>> = {};
    for (let i = 0; i < 20; i++) files[`f${i}`] = file(new Uint8Array(randomBytes(100_000)));
    build(src, files);
    const { snapshot } = await backup(repo, [src]);
    const target = join(tmp.path, "out");
    const ac = new AbortController();
    const run = restore(repo, snapshot, {
      target,
      signal: ac.signal,
      concurrency: 1,
      progressIntervalMs: 1,
      onProgress: (e) => {
        if (e.type === "progress" && e.files_done >= 3) ac.abort();
      },
    });
    await expect(run).rejects.toThrow(CancelledError);
    const second = await restore(repo, snapshot, { target });
    expect(second.errors).toEqual([]);
    expect(second.files_restored + second.files_skipped).toBe(20);
    expect(second.files_skipped).toBeGreaterThanOrEqual(3);
    expect(treeDifferences(listTree(src), listTree(join(target, src)))).toEqual([]);
    expect(readdirSync(join(target, src)).filter((n) => n.startsWith(".backapp-part"))).toEqual([]);
  });

  it("round-trips through a local-folder repository with seal workers", async () => {
    const src = join(tmp.path, "src");
    build(src, sampleTree());
    const local = await initRepository(createLocalBackend(join(tmp.path, "repo")), "pw", {
      scrypt: { N: 1024, r: 8, p: 1 },
      workers: 2,
    });
    const { snapshot } = await backup(local, [src]);
    await local.close();
    const reopened = await openRepository(createLocalBackend(join(tmp.path, "repo")), "pw", { workers: 2 });
    try {
      const found = await reopened.findSnapshot("latest");
      expect(found.id).toBe(snapshot.id);
      const target = join(tmp.path, "out");
      const r = await restore(reopened, found, { target, verify: true });
      expect(r.errors).toEqual([]);
      expect(treeDifferences(listTree(src), listTree(join(target, src)))).toEqual([]);
    } finally {
      await reopened.close();
    }
  });
});
