import { rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { backup } from "../../../src/engine/backup.ts";
import { resolvePath, TreeCache } from "../../../src/engine/browse/trees.ts";
import { fileVersions } from "../../../src/engine/browse/versions.ts";
import type { BlobId, Snapshot, Tree } from "../../../src/engine/types.ts";
import { ValidationError } from "../../../src/util/errors.ts";
import { build, dir, file } from "../../helpers/fs-tree.ts";
import { type Fixture, localFixture } from "./fixture.ts";

let fx: Fixture;
beforeEach(async () => {
  fx = await localFixture();
});
afterEach(() => fx.cleanup());

const T = 1_700_000_000;

/** Backs up `fx.src` as of `step` (snapshot times one hour apart). */
async function snap(step: number): Promise<Snapshot> {
  const { snapshot } = await backup(fx.repo, [fx.src], { now: () => T * 1000 + step * 3_600_000 });
  return snapshot;
}

describe("fileVersions", () => {
  it("lists a file's versions newest first, flagging content changes, reading no file data", async () => {
    build(fx.src, { a: dir({ notes: file("v1", { mtime: T }), other: dir({ x: file("x") }) }) });
    const path = `${fx.src}/a/notes`;
    const s1 = await snap(1);
    utimesSync(path, T + 60, T + 60); // metadata only: same content
    const s2 = await snap(2);
    writeFileSync(path, "version two");
    utimesSync(path, T + 120, T + 120);
    const s3 = await snap(3);
    rmSync(path);
    const s4 = await snap(4);
    writeFileSync(path, "v1");
    utimesSync(path, T + 180, T + 180);
    const s5 = await snap(5);

    const versions = await fileVersions(new TreeCache(fx.repo), [s3, s1, s5, s4, s2], path);
    expect(versions).toEqual([
      {
        snapshotId: s5.id,
        time: s5.time,
        size: 2,
        mtime: new Date((T + 180) * 1000).toISOString(),
        contentChanged: true,
      },
      {
        snapshotId: s3.id,
        time: s3.time,
        size: 11,
        mtime: new Date((T + 120) * 1000).toISOString(),
        contentChanged: true,
      },
      {
        snapshotId: s2.id,
        time: s2.time,
        size: 2,
        mtime: new Date((T + 60) * 1000).toISOString(),
        contentChanged: false,
      },
      {
        snapshotId: s1.id,
        time: s1.time,
        size: 2,
        mtime: new Date(T * 1000).toISOString(),
        contentChanged: true,
      },
    ]);
    expect(await fileVersions(new TreeCache(fx.repo), [s1, s2], `${fx.src}/a/nope`)).toEqual([]);
    // A directory is not a file.
    expect(await fileVersions(new TreeCache(fx.repo), [s1], `${fx.src}/a/other`)).toEqual([]);
  });

  it("reads no data blobs and decodes each unchanged directory once across snapshots", async () => {
    build(fx.src, { big: dir({ f1: file("1"), f2: file("2") }), hot: dir({ f: file("0") }) });
    const snapshots: Snapshot[] = [];
    for (let i = 0; i < 6; i++) {
      writeFileSync(join(fx.src, "hot", "f"), `content ${i}`);
      snapshots.push(await snap(i));
    }
    const loads: BlobId[] = [];
    const source = {
      loadTree: (id: BlobId, signal?: AbortSignal): Promise<Tree> => {
        loads.push(id);
        return fx.repo.loadTree(id, signal);
      },
    };
    let dataReads = 0;
    const loadBlob = fx.repo.loadBlob.bind(fx.repo);
    fx.repo.loadBlob = async (type, id, signal) => {
      if (type === "data") dataReads++;
      return loadBlob(type, id, signal);
    };
    const cache = new TreeCache(source);
    const big = await fileVersions(cache, snapshots, `${fx.src}/big/f1`);
    expect(big).toHaveLength(6);
    expect(big.filter((v) => v.contentChanged)).toHaveLength(1);
    const hot = await fileVersions(cache, snapshots, `${fx.src}/hot/f`);
    expect(hot.map((v) => v.contentChanged)).toEqual([true, true, true, true, true, true]);
    expect(dataReads).toBe(0);
    expect(new Set(loads).size).toBe(loads.length); // every tree loaded once
    // "big" is one tree in all six snapshots: loaded once.
    const bigIds = new Set<string>();
    for (const s of snapshots) bigIds.add((await resolvePath(fx.repo, s, `${fx.src}/big`)).tree!);
    expect(bigIds.size).toBe(1);
    expect(loads.filter((id) => bigIds.has(id))).toHaveLength(1);
  });

  it("refuses traversal and the root", async () => {
    build(fx.src, { f: file("1") });
    const s = await snap(1);
    const cache = new TreeCache(fx.repo);
    for (const bad of ["/", "", `${fx.src}/../f`, `${fx.src}/f\0`]) {
      await expect(fileVersions(cache, [s], bad)).rejects.toThrow(ValidationError);
    }
  });
});
