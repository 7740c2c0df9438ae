/**
 * Hard links through backup → restore on real files: groups come back as links (only among the
 * restored files), reruns leave correct links alone and repair broken ones, nothing outside the
 * target is touched, a refused link(2) falls back to a copy, and nodes that merely share an inode
 * number are never linked.
 */
import {
  linkSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { backup } from "../../../src/engine/backup.ts";
import { LinkCounter, linkFollower, linkKey } from "../../../src/engine/restore/links.ts";
import type { FileJob } from "../../../src/engine/restore/sink.ts";
import { openTargetDirs } from "../../../src/engine/restore/target-dirs.ts";
import { restore } from "../../../src/engine/restore.ts";
import type { Snapshot, TreeNode } from "../../../src/engine/types.ts";
import { useMemoryRepo } from "../../helpers/engine-repo.ts";
import { snapshotInput } from "../repository/fixtures.ts";

const fx = useMemoryRepo();

const T = new Date("2020-05-06T07:08:09.123Z");

/** src/a/{one,two,three} and src/b/four are one file; src/a/copy has the same bytes, apart. */
function linkedSource(): string {
  const src = join(fx.tmp.path, "src");
  mkdirSync(join(src, "a"), { recursive: true });
  mkdirSync(join(src, "b"));
  writeFileSync(join(src, "a", "one"), "shared content\n", { mode: 0o640 });
  utimesSync(join(src, "a", "one"), T, T);
  linkSync(join(src, "a", "one"), join(src, "a", "two"));
  linkSync(join(src, "a", "one"), join(src, "a", "three"));
  linkSync(join(src, "a", "one"), join(src, "b", "four"));
  writeFileSync(join(src, "a", "copy"), "shared content\n", { mode: 0o640 });
  utimesSync(join(src, "a", "copy"), T, T);
  return src;
}

const GROUP = ["a/one", "a/three", "a/two", "b/four"];

function ino(p: string): number {
  return lstatSync(p).ino;
}

describe("hard links", () => {
  it("restores a group as links, reruns keep them and repair broken or wrong ones", async () => {
    const src = linkedSource();
    const { snapshot } = await backup(fx.repo, [src]);
    const target = join(fx.tmp.path, "out");
    const at = (p: string) => join(target, src, p);
    const first = await restore(fx.repo, snapshot, { target });
    expect(first).toMatchObject({ files_restored: 5, files_linked: 3, errors: [], notices: [] });
    expect(first.bytes_written).toBe(2 * 15);
    const leader = ino(at("a/one"));
    for (const p of GROUP) {
      expect(ino(at(p))).toBe(leader);
      expect(readFileSync(at(p), "utf8")).toBe("shared content\n");
    }
    expect(lstatSync(at("a/one")).nlink).toBe(4);
    expect(ino(at("a/copy"))).not.toBe(leader);
    expect(lstatSync(at("a/one")).mtime.getTime()).toBe(T.getTime());

    const again = await restore(fx.repo, snapshot, { target });
    expect(again).toMatchObject({ files_restored: 0, files_skipped: 5, files_linked: 0, errors: [] });
    for (const p of GROUP) expect(ino(at(p))).toBe(leader);

    // Break one link into a separate identical file, point another at the unrelated copy, and
    // plant a symlink to a file outside the target in a third.
    rmSync(at("a/two"));
    writeFileSync(at("a/two"), "shared content\n", { mode: 0o640 });
    utimesSync(at("a/two"), T, T);
    rmSync(at("b/four"));
    linkSync(at("a/copy"), at("b/four"));
    const outside = join(fx.tmp.path, "outside.txt");
    writeFileSync(outside, "outside\n");
    rmSync(at("a/three"));
    symlinkSync(outside, at("a/three"));
    const fixed = await restore(fx.repo, snapshot, { target });
    expect(fixed).toMatchObject({ files_restored: 3, files_linked: 3, files_skipped: 2, errors: [] });
    for (const p of GROUP) expect(ino(at(p))).toBe(leader);
    expect(ino(at("a/copy"))).not.toBe(leader);
    expect(lstatSync(at("a/copy")).nlink).toBe(1);
    expect(readFileSync(outside, "utf8")).toBe("outside\n");
    expect(lstatSync(outside).nlink).toBe(1);
  });

  it("links only among the selected files", async () => {
    const src = linkedSource();
    const { snapshot } = await backup(fx.repo, [src]);
    const one = join(fx.tmp.path, "one");
    const r1 = await restore(fx.repo, snapshot, { target: one, includes: [`${src}/b/four`] });
    expect(r1).toMatchObject({ files_restored: 1, files_linked: 0, errors: [] });
    expect(readFileSync(join(one, src, "b/four"), "utf8")).toBe("shared content\n");
    expect(lstatSync(join(one, src, "b/four")).nlink).toBe(1);

    const part = join(fx.tmp.path, "part");
    const r2 = await restore(fx.repo, snapshot, { target: part, includes: [`${src}/a`] });
    expect(r2).toMatchObject({ files_restored: 4, files_linked: 2, errors: [] });
    expect(lstatSync(join(part, src, "a/one")).nlink).toBe(3);
    expect(statSync(join(part, src, "b"), { throwIfNoEntry: false })).toBeUndefined();
  });
});

const META = { mode: 0o600, uid: 0, gid: 0, mtime: "1600000000000000000", ctime: "0" };

async function snapshotOf(nodes: TreeNode[]): Promise<Snapshot> {
  const tree = await fx.repo.saveTree({ nodes: [...nodes].sort((a, b) => (a.name < b.name ? -1 : 1)) });
  await fx.repo.flush();
  return { id: "e".repeat(64), ...snapshotInput(tree) };
}

async function fileNode(name: string, text: string, inode: number): Promise<TreeNode> {
  const bytes = new TextEncoder().encode(text);
  const id = fx.repo.blobId(bytes);
  await fx.repo.saveBlob("data", id, bytes);
  return { name, type: "file", ...META, inode, device: 7, size: bytes.length, content: [id] };
}

describe("hard link safety", () => {
  it("never links nodes that share an inode number but not their content", async () => {
    const snap = await snapshotOf([
      await fileNode("x", "first", 5),
      await fileNode("y", "second", 5),
      await fileNode("z", "first", 5),
      await fileNode("w", "no inode", 0),
    ]);
    const target = join(fx.tmp.path, "out");
    const r = await restore(fx.repo, snap, { target });
    expect(r).toMatchObject({ files_restored: 4, files_linked: 1, errors: [] });
    expect(readFileSync(join(target, "x"), "utf8")).toBe("first");
    expect(readFileSync(join(target, "y"), "utf8")).toBe("second");
    expect(ino(join(target, "z"))).toBe(ino(join(target, "x")));
    expect(lstatSync(join(target, "y")).nlink).toBe(1);
  });

  it("members of a group whose content is missing are each reported", async () => {
    const a = await fileNode("a", "gone", 9);
    const missing = { ...a, content: ["0".repeat(64)] };
    const snap = await snapshotOf([missing, { ...missing, name: "b" }, { ...missing, name: "c" }]);
    const r = await restore(fx.repo, snap, { target: join(fx.tmp.path, "out") });
    expect(r.errors.map((e) => e.path).sort()).toEqual(["/a", "/b", "/c"]);
    expect(r.files_restored).toBe(0);
  });

  it("falls back to a copy when the file system refuses link(2), and keeps a correct copy", async () => {
    const node = await fileNode("f", "content", 3);
    const dirs = openTargetDirs(fx.tmp.path);
    const dir = dirs.root;
    const job = (name: string): FileJob => ({
      dirs,
      node: { ...node, name },
      dir,
      name: Buffer.from(name),
      path: Buffer.from(join(dir.toString(), name)),
      display: `/${name}`,
    });
    writeFileSync(join(fx.tmp.path, "f"), "content", { mode: 0o600 });
    utimesSync(join(fx.tmp.path, "f"), 1_600_000_000, 1_600_000_000);
    const refuse = () => {
      throw Object.assign(new Error("EXDEV: cross-device link"), { code: "EXDEV" });
    };
    expect(linkFollower(job("f"), job("g"), { link: refuse })).toBe("copied");
    const g = lstatSync(join(fx.tmp.path, "g"));
    expect(g.ino).not.toBe(ino(join(fx.tmp.path, "f")));
    expect(readFileSync(join(fx.tmp.path, "g"), "utf8")).toBe("content");
    expect([g.mode & 0o7777, g.mtimeMs]).toEqual([0o600, 1_600_000_000_000]);
    expect(linkFollower(job("f"), job("g"), { link: refuse })).toBe("kept");
    expect(linkFollower(job("f"), job("g"), { link: refuse, copyAgain: true })).toBe("copied");
    // Other link errors are the file's error.
    const denied = () => {
      throw Object.assign(new Error("EACCES"), { code: "EACCES" });
    };
    expect(() => linkFollower(job("f"), job("h"), { link: denied })).toThrow("EACCES");
    expect(linkFollower(job("f"), job("g"))).toBe("linked");
    expect(ino(join(fx.tmp.path, "g"))).toBe(ino(join(fx.tmp.path, "f")));
    // A leader that changed since it was restored is not linked to.
    writeFileSync(join(fx.tmp.path, "f"), "changed!");
    expect(() => linkFollower(job("f"), job("h"))).toThrow("is not the restored file");
    dirs.close();
  });

  it("counts a (device, inode) pair seen twice; keys are stable and spread", () => {
    const c = new LinkCounter();
    const n = (inode: number, device: number) =>
      ({ name: "n", type: "file", ...META, inode, device, size: 0 }) as TreeNode;
    c.add(n(1, 1));
    c.add(n(2, 1));
    c.add(n(1, 1));
    c.add(n(2 ** 52 + 3, 2 ** 40));
    const groups = c.seal();
    const dirs = openTargetDirs(fx.tmp.path);
    const job = (node: TreeNode) => ({
      dirs,
      node,
      dir: Buffer.from("/"),
      name: Buffer.from("n"),
      path: Buffer.from("/n"),
      display: "/n",
    });
    expect(groups.route(job(n(2, 1)))).toBe("write");
    expect(groups.route(job(n(1, 1)))).toBe("write");
    expect(groups.route(job(n(1, 1)))).toBe("link");
    expect(linkKey(2 ** 52 + 3, 2 ** 40)).toBe(linkKey(2 ** 52 + 3, 2 ** 40));
    expect(Number.isSafeInteger(linkKey(2 ** 53 - 1, 2 ** 53 - 1))).toBe(true);
    const keys = new Set<number>();
    for (let i = 1; i <= 10_000; i++) keys.add(linkKey(2049, i));
    expect(keys.size).toBe(10_000);
  });
});
