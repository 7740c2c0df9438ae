/**
 * A re-backup reuses the parent's nodes and, for a folder where nothing changed, the parent's tree
 * blob (no encoding, no hashing). Whatever changed, the result must be exactly the tree a backup
 * without a parent writes: the same blob id for the backed-up folder, checked after each change.
 */
import { chmodSync, mkdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { backup } from "../../../src/engine/backup.ts";
import { ls } from "../../../src/engine/ls.ts";
import type { RepositoryImpl } from "../../../src/engine/repository/repository.ts";
import type { BlobType, Repository, Snapshot } from "../../../src/engine/types.ts";
import { writeXattr } from "../../../src/engine/xattr.ts";
import { memoryRepo } from "../../helpers/engine-repo.ts";
import { build, dir, file, link } from "../../helpers/fs-tree.ts";
import { tempDir } from "../../helpers/temp.ts";

let tmp: { path: string; cleanup(): void };
let repo: RepositoryImpl;
beforeEach(async () => {
  tmp = tempDir();
  repo = await memoryRepo();
  build(tmp.path, {
    a: dir({ b: dir({ c: dir({ f1: file("one"), f2: file("two") }), g: file("g") }), h: link("b/g") }),
    d: dir({ e: file("e"), k: file("k") }),
    top: file("top"),
  });
});
afterEach(async () => {
  await repo.close();
  tmp.cleanup();
});

/** The tree blob id of the backed-up folder (tmp.path) in a snapshot. */
async function subtree(snapshot: Snapshot): Promise<string | undefined> {
  for await (const e of ls(repo, snapshot, tmp.path, { recursive: false })) return e.node.subtree;
  return undefined;
}

/** Counts the tree blobs the backup asks to save (new or not). */
function treeSaves(target: Repository): Repository & { treeSaves: number } {
  let saves = 0;
  return new Proxy(target, {
    get(t, prop, receiver) {
      if (prop === "treeSaves") return saves;
      if (prop === "saveBlob") {
        return (type: BlobType, ...rest: [string, Uint8Array, AbortSignal?]) => {
          if (type === "tree") saves++;
          return t.saveBlob(type, ...rest);
        };
      }
      const v = Reflect.get(t, prop, receiver);
      return typeof v === "function" ? v.bind(t) : v;
    },
  }) as Repository & { treeSaves: number };
}

/** Backs up with `parent` and without one; both must give the same tree for tmp.path. */
async function rebackupMatchesFresh(parent: Snapshot): Promise<{ snapshot: Snapshot; treeSaves: number }> {
  const spy = treeSaves(repo);
  const withParent = await backup(spy, [tmp.path], { parent });
  const fresh = await backup(repo, [tmp.path]);
  expect(await subtree(withParent.snapshot)).toBe(await subtree(fresh.snapshot));
  return { snapshot: withParent.snapshot, treeSaves: spy.treeSaves };
}

describe("re-backup against a parent", () => {
  it("reuses every unchanged folder's tree without saving it again", async () => {
    const first = await backup(repo, [tmp.path]);
    const again = await rebackupMatchesFresh(first.snapshot);
    expect(await subtree(again.snapshot)).toBe(await subtree(first.snapshot));
    // Only the folders above tmp.path can be saved (other tests change /tmp meanwhile).
    expect(again.treeSaves).toBeLessThanOrEqual(tmp.path.split("/").length);
  });

  it("records a changed mode of a deep file and of a folder, and a touched folder", async () => {
    let parent = (await backup(repo, [tmp.path])).snapshot;
    chmodSync(join(tmp.path, "a/b/c/f1"), 0o600);
    parent = (await rebackupMatchesFresh(parent)).snapshot;
    chmodSync(join(tmp.path, "a/b"), 0o700);
    parent = (await rebackupMatchesFresh(parent)).snapshot;
    utimesSync(join(tmp.path, "d"), new Date(2001, 1, 1), new Date(2001, 1, 1));
    await rebackupMatchesFresh(parent);
  });

  it("sees a file replaced by another name, by a folder or by a symlink", async () => {
    let parent = (await backup(repo, [tmp.path])).snapshot;
    rmSync(join(tmp.path, "d/k"));
    writeFileSync(join(tmp.path, "d/l"), "k");
    parent = (await rebackupMatchesFresh(parent)).snapshot;
    rmSync(join(tmp.path, "d/l"));
    mkdirSync(join(tmp.path, "d/l"));
    parent = (await rebackupMatchesFresh(parent)).snapshot;
    rmSync(join(tmp.path, "a/b/g"));
    symlinkSync("c", join(tmp.path, "a/b/g"));
    await rebackupMatchesFresh(parent);
  });

  it("sees a symlink pointing elsewhere and a removed file", async () => {
    let parent = (await backup(repo, [tmp.path])).snapshot;
    rmSync(join(tmp.path, "a/h"));
    symlinkSync("b/c", join(tmp.path, "a/h"));
    parent = (await rebackupMatchesFresh(parent)).snapshot;
    rmSync(join(tmp.path, "a/b/c/f2"));
    await rebackupMatchesFresh(parent);
  });

  it("sees extended attributes added to a file and to a folder", async () => {
    let parent = (await backup(repo, [tmp.path])).snapshot;
    writeXattr(Buffer.from(join(tmp.path, "a/b/c/f2")), "user.note", new TextEncoder().encode("x"));
    parent = (await rebackupMatchesFresh(parent)).snapshot;
    writeXattr(Buffer.from(join(tmp.path, "d")), "user.note", new TextEncoder().encode("y"));
    const last = await rebackupMatchesFresh(parent);
    const nodes: Record<string, unknown> = {};
    for await (const e of ls(repo, last.snapshot, tmp.path)) nodes[e.path] = e.node.xattrs;
    expect(nodes[join(tmp.path, "d")]).toEqual([{ name: "user.note", value: "eQ==" }]);
    expect(nodes[join(tmp.path, "a/b/c/f2")]).toEqual([{ name: "user.note", value: "eA==" }]);
  });

  it("does not take the parent's nodes without extended attributes when --no-xattrs", async () => {
    writeXattr(Buffer.from(join(tmp.path, "top")), "user.note", new TextEncoder().encode("x"));
    const first = await backup(repo, [tmp.path]);
    const bare = await backup(repo, [tmp.path], { parent: first.snapshot, noXattrs: true });
    const fresh = await backup(repo, [tmp.path], { noXattrs: true });
    expect(await subtree(bare.snapshot)).toBe(await subtree(fresh.snapshot));
    expect(await subtree(bare.snapshot)).not.toBe(await subtree(first.snapshot));
  });

  it("marks the snapshots that read attributes, and only those", async () => {
    const read = await backup(repo, [tmp.path]);
    const skipped = await backup(repo, [tmp.path], { noXattrs: true });
    expect(read.snapshot.xattrs).toBe(true);
    expect(skipped.snapshot.xattrs).toBeUndefined();
    const listed = await repo.listSnapshots();
    expect(listed.find((s) => s.id === read.snapshot.id)?.xattrs).toBe(true);
    expect(listed.find((s) => s.id === skipped.snapshot.id)?.xattrs).toBeUndefined();
  });

  it("reads the attributes again after a --no-xattrs parent, whose nodes have none recorded", async () => {
    writeXattr(Buffer.from(join(tmp.path, "a/b/g")), "user.note", new TextEncoder().encode("g"));
    writeXattr(Buffer.from(join(tmp.path, "d")), "user.note", new TextEncoder().encode("d"));
    const bare = await backup(repo, [tmp.path], { noXattrs: true });
    const again = await rebackupMatchesFresh(bare.snapshot);
    const nodes: Record<string, unknown> = {};
    for await (const e of ls(repo, again.snapshot, tmp.path)) nodes[e.path] = e.node.xattrs;
    expect(nodes[join(tmp.path, "a/b/g")]).toEqual([{ name: "user.note", value: "Zw==" }]);
    expect(nodes[join(tmp.path, "d")]).toEqual([{ name: "user.note", value: "ZA==" }]);
  });

  it("keeps unchanged entries' attributes and sees a value rewritten in place", async () => {
    const note = (v: string) => new TextEncoder().encode(v);
    writeXattr(Buffer.from(join(tmp.path, "top")), "user.note", note("one"));
    writeXattr(Buffer.from(join(tmp.path, "d/e")), "user.other", note("t"));
    let parent = (await backup(repo, [tmp.path])).snapshot;
    parent = (await rebackupMatchesFresh(parent)).snapshot;
    writeXattr(Buffer.from(join(tmp.path, "top")), "user.note", note("two"));
    const last = await rebackupMatchesFresh(parent);
    const nodes: Record<string, unknown> = {};
    for await (const e of ls(repo, last.snapshot, tmp.path)) nodes[e.path] = e.node.xattrs;
    expect(nodes[join(tmp.path, "top")]).toEqual([{ name: "user.note", value: "dHdv" }]);
    expect(nodes[join(tmp.path, "d/e")]).toEqual([{ name: "user.other", value: "dA==" }]);
  });
});
