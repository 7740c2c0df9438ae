import { randomBytes } from "node:crypto";
import { chmodSync, readFileSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PassThrough, Writable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { backup } from "../../src/engine/backup.ts";
import { diff } from "../../src/engine/diff.ts";
import { dump } from "../../src/engine/dump.ts";
import { findPath, ls } from "../../src/engine/ls.ts";
import type { RepositoryImpl } from "../../src/engine/repository/repository.ts";
import { restore } from "../../src/engine/restore.ts";
import { NotFoundError, ValidationError } from "../../src/util/errors.ts";
import { memoryRepo } from "../helpers/engine-repo.ts";
import { build, dir, file, link } from "../helpers/fs-tree.ts";
import { tempDir } from "../helpers/temp.ts";

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

const T = 1_600_000_000;

describe("ls", () => {
  it("walks a tree far deeper than the call stack allows", async () => {
    const { snapshot } = await backup(repo, [tmp.path]);
    const depth = 20_000;
    const dirNode = (subtree: string) => ({
      name: "d",
      type: "dir" as const,
      mode: 0o755,
      uid: 0,
      gid: 0,
      mtime: "0",
      ctime: "0",
      inode: 0,
      device: 0,
      size: 0,
      subtree,
    });
    let id = await repo.saveTree({ nodes: [] });
    for (let i = 0; i < depth; i++) id = await repo.saveTree({ nodes: [dirNode(id)] });
    let count = 0;
    let last = "";
    for await (const e of ls(repo, { ...snapshot, tree: id })) {
      count++;
      last = e.path;
    }
    expect(count).toBe(depth);
    expect(last.length).toBe(depth * 2);
  });

  it("lists a snapshot recursively, or one level, from any path", async () => {
    build(tmp.path, { a: dir({ b: file("bb", { mtime: T }), c: dir({ d: file("") }) }), z: link("a") });
    const { snapshot } = await backup(repo, [tmp.path]);
    const all: string[] = [];
    for await (const e of ls(repo, snapshot, tmp.path)) all.push(`${e.path} ${e.node.type}`);
    expect(all).toEqual([
      `${tmp.path} dir`,
      `${tmp.path}/a dir`,
      `${tmp.path}/a/b file`,
      `${tmp.path}/a/c dir`,
      `${tmp.path}/a/c/d file`,
      `${tmp.path}/z symlink`,
    ]);
    const shallow: string[] = [];
    for await (const e of ls(repo, snapshot, `${tmp.path}/a/`, { recursive: false })) shallow.push(e.path);
    expect(shallow).toEqual([`${tmp.path}/a`, `${tmp.path}/a/b`, `${tmp.path}/a/c`]);
    const root: string[] = [];
    for await (const e of ls(repo, snapshot, "/", { recursive: false })) root.push(e.path);
    expect(root).toEqual([`/${tmp.path.split("/")[1]}`]);
    const one = await findPath(repo, snapshot, `${tmp.path}/a/b`);
    expect(one.node).toMatchObject({ name: "b", size: 2, mtime: `${T}000000000` });
    await expect(findPath(repo, snapshot, `${tmp.path}/nope`)).rejects.toThrow(NotFoundError);
    await expect(findPath(repo, snapshot, `${tmp.path}/a/b/deeper`)).rejects.toThrow(NotFoundError);
    await expect(findPath(repo, snapshot, `${tmp.path}/../etc`)).rejects.toThrow(ValidationError);
  });
});

describe("names that are not valid UTF-8", () => {
  it("are found by ls, dump and restore --include when given as shown (U+FFFD for each bad byte)", async () => {
    const raw = (b: number[]) => Buffer.concat([Buffer.from(`${tmp.path}/`), Buffer.from(b)]);
    writeFileSync(raw([0x61, 0xff, 0xfe]), "first"); // "a\xff\xfe"
    writeFileSync(raw([0x62, 0xe2, 0x82]), "second"); // "b" + a truncated 3-byte sequence
    writeFileSync(raw([0x63, 0xff]), "one");
    writeFileSync(raw([0x63, 0xfe]), "two"); // "c\xff" and "c\xfe" look alike
    const { snapshot } = await backup(repo, [tmp.path]);
    const shown = (bytes: number[]) => `${tmp.path}/${Buffer.from(bytes).toString("utf8")}`;
    const found = await findPath(repo, snapshot, shown([0x61, 0xff, 0xfe]));
    expect(found.node?.name).toBe("a\udcff\udcfe");
    expect(found.path).toBe(`${tmp.path}/a\udcff\udcfe`);
    expect((await findPath(repo, snapshot, shown([0x62, 0xe2, 0x82]))).node?.name).toBe("b\udce2\udc82");
    await expect(findPath(repo, snapshot, shown([0x63, 0xff]))).rejects.toThrow(
      /2 names with invalid UTF-8 bytes match/,
    );
    const listed: string[] = [];
    for await (const e of ls(repo, snapshot, shown([0x61, 0xff, 0xfe]))) listed.push(e.path);
    expect(listed).toEqual([`${tmp.path}/a\udcff\udcfe`]);
    const target = join(tmp.path, "out");
    const r = await restore(repo, snapshot, { target, includes: [shown([0x61, 0xff, 0xfe])] });
    expect(r.errors).toEqual([]);
    expect(r.files_restored).toBe(1);
    expect(readFileSync(Buffer.concat([Buffer.from(`${target}/`), raw([0x61, 0xff, 0xfe])]), "utf8")).toBe(
      "first",
    );
  });
});

describe("dump", () => {
  it("streams one file's content with back-pressure", async () => {
    const data = randomBytes(1_500_000);
    build(tmp.path, { big: file(data), d: dir({}), l: link("big") });
    const { snapshot } = await backup(repo, [tmp.path]);
    const parts: Buffer[] = [];
    // A sink with a tiny buffer, so write() returns false and dump must wait for "drain".
    const sink = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _enc, cb) {
        parts.push(chunk);
        setImmediate(cb);
      },
    });
    const n = await dump(repo, snapshot, `${tmp.path}/big`, sink);
    expect(n).toBe(data.length);
    expect(Buffer.concat(parts).equals(data)).toBe(true);
    await expect(dump(repo, snapshot, `${tmp.path}/d`, new PassThrough())).rejects.toThrow(ValidationError);
    await expect(dump(repo, snapshot, `${tmp.path}/l`, new PassThrough())).rejects.toThrow(
      /symlink, not a file/,
    );
    await expect(dump(repo, snapshot, "/", new PassThrough())).rejects.toThrow(/root directory/);
    await expect(dump(repo, snapshot, `${tmp.path}/none`, new PassThrough())).rejects.toThrow(NotFoundError);
  });
});

describe("diff", () => {
  it("reports added, removed and changed entries with what changed", async () => {
    build(tmp.path, {
      same: dir({ s: file("s", { mtime: T }) }, { mtime: T }),
      edit: file("v1", { mtime: T }),
      touch: file("t", { mtime: T }),
      perm: file("p", { mtime: T }),
      gone: dir({ inner: file("i") }),
      swap: file("was a file", { mtime: T }),
      ln: link("one"),
    });
    const a = (await backup(repo, [tmp.path])).snapshot;
    writeFileSync(join(tmp.path, "edit"), "version 2");
    utimesSync(join(tmp.path, "edit"), T, T);
    utimesSync(join(tmp.path, "touch"), T + 5, T + 5);
    chmodSync(join(tmp.path, "perm"), 0o600);
    utimesSync(join(tmp.path, "perm"), T, T);
    rmSync(join(tmp.path, "gone"), { recursive: true });
    unlinkSync(join(tmp.path, "swap"));
    build(tmp.path, { swap: dir({ x: file("x") }), fresh: file("new") });
    unlinkSync(join(tmp.path, "ln"));
    symlinkSync("two", join(tmp.path, "ln"));
    const b = (await backup(repo, [tmp.path])).snapshot;
    const out: string[] = [];
    for await (const e of diff(repo, a, b)) {
      const rel = e.path.slice(tmp.path.length);
      if (e.path.startsWith(`${tmp.path}/`)) out.push(`${e.kind} ${rel} ${e.changes.join(",")}`.trim());
    }
    expect(out).toEqual([
      "changed /edit content",
      "added /fresh",
      "removed /gone",
      "removed /gone/inner",
      "changed /ln target,mtime",
      "changed /perm mode",
      "changed /swap type",
      "added /swap/x",
      "changed /touch mtime",
    ]);
    const none: unknown[] = [];
    for await (const e of diff(repo, b, b)) none.push(e);
    expect(none).toEqual([]);
  });
});
