import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { RepositoryImpl } from "../../../src/engine/repository/repository.ts";
import { applyDirMeta } from "../../../src/engine/restore/fs-ops.ts";
import { openTargetDirs } from "../../../src/engine/restore/target-dirs.ts";
import { restore } from "../../../src/engine/restore.ts";
import type { Repository, Snapshot, Tree, TreeNode } from "../../../src/engine/types.ts";
import { memoryRepo } from "../../helpers/engine-repo.ts";
import { tempDir } from "../../helpers/temp.ts";
import { emptySummary } from "../repository/fixtures.ts";

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

/**
 * A repository whose tree loader performs no validation: it parses whatever JSON the tree blob
 * holds. Raw blobs are stored with saveBlob, bypassing the canonical encoder, so the restorer's
 * own checks are the only defence left.
 */
function unvalidated(base: Repository): Repository {
  return Object.assign(Object.create(base) as Repository, {
    async loadTree(id: string, signal?: AbortSignal): Promise<Tree> {
      return JSON.parse(new TextDecoder().decode(await base.loadBlob("tree", id, signal))) as Tree;
    },
  });
}

async function rawTree(nodes: Partial<TreeNode>[]): Promise<string> {
  const bytes = new TextEncoder().encode(JSON.stringify({ nodes }));
  const id = repo.blobId(bytes);
  await repo.saveBlob("tree", id, bytes);
  return id;
}

async function fileNode(name: string, data: string): Promise<Partial<TreeNode>> {
  const bytes = new TextEncoder().encode(data);
  const id = repo.blobId(bytes);
  await repo.saveBlob("data", id, bytes);
  const meta = { mode: 0o644, uid: 0, gid: 0, mtime: "1600000000000000000", ctime: "0", inode: 1, device: 1 };
  return { name, type: "file", ...meta, size: bytes.length, content: [id] };
}

function snapshotOf(tree: string): Snapshot {
  return {
    id: "f".repeat(64),
    time: "2026-01-01T00:00:00.000Z",
    hostname: "h",
    username: "u",
    paths: ["/x"],
    tags: [],
    parent: null,
    tree,
    program_version: "test",
    summary: emptySummary(),
  };
}

describe("restore of a hostile tree", () => {
  it("refuses names that would escape the target and restores the rest", async () => {
    const evil = ["..", ".", "", "../escaped", "/etc/evil", "a/b", "nul\0byte"];
    const nodes = [
      ...(await Promise.all(evil.map((n) => fileNode(n, "pwned")))),
      await fileNode("fine", "ok"),
    ];
    const sub = await rawTree([await fileNode("../../up", "pwned")]);
    nodes.push({ ...(await fileNode("d", "")), type: "dir", size: 0, content: undefined, subtree: sub });
    const root = await rawTree(nodes);
    const target = join(tmp.path, "target");
    const summary = await restore(unvalidated(repo), snapshotOf(root), { target });
    expect(summary.files_restored).toBe(1);
    expect(summary.errors).toHaveLength(evil.length + 1);
    for (const e of summary.errors) expect(e.message).toMatch(/refusing unsafe tree entry/);
    expect(readdirSync(target).sort()).toEqual(["d", "fine"]);
    expect(readdirSync(join(target, "d"))).toEqual([]);
    expect(existsSync(join(tmp.path, "escaped"))).toBe(false);
    expect(existsSync(join(tmp.path, "up"))).toBe(false);
    expect(existsSync("/etc/evil")).toBe(false);
  });

  it("refuses a name listed twice, so a restored directory cannot become a symlink under its files", async () => {
    const outside = join(tmp.path, "outside");
    mkdirSync(outside);
    const sub = await rawTree([await fileNode("x", "pwned")]);
    const dirNode = { ...(await fileNode("d", "")), type: "dir" as const, content: undefined, subtree: sub };
    const linkNode = {
      ...(await fileNode("d", "")),
      type: "symlink" as const,
      content: undefined,
      target: outside,
    };
    const root = await rawTree([dirNode, linkNode, await fileNode("fine", "ok")]);
    const target = join(tmp.path, "target");
    const summary = await restore(unvalidated(repo), snapshotOf(root), { target });
    expect(summary.errors).toEqual([{ path: "/d", message: "refusing duplicate tree entry" }]);
    expect(readdirSync(outside)).toEqual([]);
    expect(lstatSync(join(target, "d")).isDirectory()).toBe(true);
    expect(readFileSync(join(target, "d", "x"), "utf8")).toBe("pwned");
    expect(readFileSync(join(target, "fine"), "utf8")).toBe("ok");
  });

  it("never applies a directory's mode or owner through a symlink swapped in for it", async () => {
    const real = join(tmp.path, "real");
    mkdirSync(real, { mode: 0o755 });
    const swapped = join(tmp.path, "swapped");
    symlinkSync(real, swapped);
    const node = {
      ...(await fileNode("swapped", "")),
      type: "dir" as const,
      mode: 0o777,
      uid: 4321,
      gid: 4321,
    };
    const dirs = openTargetDirs(tmp.path);
    const at = Buffer.from(join(dirs.root.toString(), "swapped"));
    expect(() => applyDirMeta(dirs, at, node as TreeNode)).toThrow(/ELOOP|ENOTDIR/);
    dirs.close();
    expect(lstatSync(real).mode & 0o7777).toBe(0o755);
    expect(lstatSync(real).uid).toBe(process.getuid?.() ?? lstatSync(real).uid);
  });

  it("reports a damaged tree or blob as errors and restores what it can", async () => {
    const good = await fileNode("good", "fine");
    const bad = { ...(await fileNode("bad", "x")), content: ["0".repeat(64)] };
    const missingDir = {
      ...(await fileNode("lost", "")),
      type: "dir" as const,
      size: 0,
      content: undefined,
      subtree: "1".repeat(64),
    };
    const root = await rawTree([bad, good, missingDir]);
    const target = join(tmp.path, "target");
    const summary = await restore(repo, snapshotOf(root), { target });
    expect(summary.files_restored).toBe(1);
    expect(summary.errors.map((e) => e.path).sort()).toEqual(["/bad", "/lost"]);
    expect(readdirSync(target).sort()).toEqual(["good", "lost"]);
  });
});
