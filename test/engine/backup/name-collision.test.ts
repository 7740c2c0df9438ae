/**
 * Names in one folder that map to the same tree name are reported as a collision naming the folder
 * they are in (the top folder included), and the first is kept. The scanner's surrogateescape
 * mapping keeps names that differ only in invalid UTF-8 bytes apart, so the walk itself never
 * yields such a pair: the archiver's guard is fed a walk with two equal names here, and the real
 * walk is checked to store both invalid-UTF-8 names.
 */
import { lstatSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Archiver } from "../../../src/engine/backup/archiver.ts";
import { backup } from "../../../src/engine/backup.ts";
import { createProgress } from "../../../src/engine/progress.ts";
import type { RepositoryImpl } from "../../../src/engine/repository/repository.ts";
import { restore } from "../../../src/engine/restore.ts";
import type { WalkEntry } from "../../../src/engine/scan/walk.ts";
import { decodeTree } from "../../../src/engine/tree.ts";
import type { FileError } from "../../../src/engine/types.ts";
import { memoryRepo } from "../../helpers/engine-repo.ts";
import { tempDir } from "../../helpers/temp.ts";

let tmp: ReturnType<typeof tempDir>;
let repo: RepositoryImpl;
beforeEach(async () => {
  tmp = tempDir();
  repo = await memoryRepo();
});
afterEach(() => tmp.cleanup());

function archiver(errors: FileError[]): Archiver {
  return new Archiver(
    {
      repo,
      signal: new AbortController().signal,
      full: false,
      readConcurrency: 2,
      progress: createProgress({ operation: "backup" }),
      onError: (e) => errors.push(e),
      onNotice: () => {},
    },
    undefined,
  );
}

function fileEntry(path: string, name: string): WalkEntry {
  return {
    kind: "file",
    path: Buffer.from(path),
    display: path,
    name,
    stat: lstatSync(path, { bigint: true }),
  };
}

function dirEntry(kind: "enter" | "leave", path: string, name: string | null): WalkEntry {
  const stat = name === null ? null : lstatSync(path, { bigint: true });
  return { kind, path: Buffer.from(path), display: path, name, stat, keep: true };
}

async function names(id: string): Promise<string[]> {
  const tree = decodeTree(await repo.loadBlob("tree", id));
  return tree.nodes.map((n) => n.name);
}

describe("name collisions", () => {
  it("names the folder the colliding names are in, not its parent", async () => {
    const sub = join(tmp.path, "sub");
    mkdirSync(sub);
    writeFileSync(join(sub, "one"), "first");
    writeFileSync(join(sub, "two"), "second");
    const errors: FileError[] = [];
    const a = archiver(errors);
    await a.consume(dirEntry("enter", "/", null));
    await a.consume(dirEntry("enter", sub, "sub"));
    await a.consume(fileEntry(join(sub, "one"), "same\udcff"));
    await a.consume(fileEntry(join(sub, "two"), "same\udcff"));
    await a.consume(dirEntry("leave", sub, "sub"));
    await a.consume(dirEntry("leave", "/", null));
    expect(errors).toEqual([
      { path: `${sub}/same\udcff`, message: "name collides with another after UTF-8 encoding" },
    ]);
    const top = decodeTree(await repo.loadBlob("tree", a.root));
    expect(top.nodes.map((n) => n.name)).toEqual(["sub"]);
    expect(await names(top.nodes[0]!.subtree!)).toEqual(["same\udcff"]);
  });

  it("reports a collision in the top folder instead of throwing", async () => {
    writeFileSync(join(tmp.path, "one"), "first");
    writeFileSync(join(tmp.path, "two"), "second");
    const errors: FileError[] = [];
    const a = archiver(errors);
    await a.consume(dirEntry("enter", "/", null));
    await a.consume(fileEntry(join(tmp.path, "one"), "x\udcfe"));
    await a.consume(fileEntry(join(tmp.path, "two"), "x\udcfe"));
    await a.consume(dirEntry("leave", "/", null));
    expect(errors).toEqual([
      { path: "/x\udcfe", message: "name collides with another after UTF-8 encoding" },
    ]);
    expect(await names(a.root)).toEqual(["x\udcfe"]);
  });

  it("keeps names that differ only in invalid UTF-8 bytes apart through backup and restore", async () => {
    const src = join(tmp.path, "src");
    mkdirSync(src);
    writeFileSync(Buffer.from(`${src}/a\xff`, "latin1"), "ff");
    writeFileSync(Buffer.from(`${src}/a\xfe`, "latin1"), "fe");
    const { snapshot, summary } = await backup(repo, [src]);
    expect(summary.errors).toEqual([]);
    const out = join(tmp.path, "out");
    await restore(repo, snapshot, { target: out });
    const restored = readdirSync(join(out, src), { encoding: "buffer" }).map((b) => b.toString("hex"));
    expect(restored.sort()).toEqual(["61fe", "61ff"]);
  });
});
