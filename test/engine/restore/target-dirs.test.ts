/**
 * The restore's folder handles (target-dirs.ts): removal never follows a symlink, a restore with an
 * LRU of a single folder (constant eviction; hard links across folders need two at once) gives the
 * same tree, and a target that is not a folder is refused by name.
 */
import { spawnSync } from "node:child_process";
import {
  closeSync,
  constants,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { backup } from "../../../src/engine/backup.ts";
import { openTarget, openTargetDirs, TargetDirs } from "../../../src/engine/restore/target-dirs.ts";
import { restore } from "../../../src/engine/restore.ts";
import { useMemoryRepo } from "../../helpers/engine-repo.ts";

const fx = useMemoryRepo();

describe.each(["proc", "verify"] as const)("target folders (%s mode)", (mode) => {
  it("removes a tree holding a symlink to an outside folder without touching that folder", () => {
    const outside = join(fx.tmp.path, "outside");
    mkdirSync(outside);
    writeFileSync(join(outside, "precious"), "keep me");
    const target = join(fx.tmp.path, "target");
    mkdirSync(join(target, "a", "b"), { recursive: true });
    writeFileSync(join(target, "a", "b", "f"), "x");
    symlinkSync(outside, join(target, "a", "b", "link"));
    const dirs = openTarget(target, mode);
    dirs.remove(Buffer.from(join(dirs.root.toString(), "a")));
    dirs.close();
    expect(readdirSync(target)).toEqual([]);
    expect(readFileSync(join(outside, "precious"), "utf8")).toBe("keep me");
  });

  it("restores the same tree while holding a single folder at a time", async () => {
    const src = join(fx.tmp.path, "src");
    for (const d of ["a/x/y", "b/z", "c"]) mkdirSync(join(src, d), { recursive: true });
    for (const [i, d] of ["a", "a/x", "a/x/y", "b", "b/z", "c"].entries()) {
      for (let n = 0; n < 5; n++) writeFileSync(join(src, d, `f${n}`), `${d} ${n} ${"#".repeat(i * 100)}`);
    }
    linkSync(join(src, "a/x/y/f0"), join(src, "b/z/linked"));
    linkSync(join(src, "a/x/y/f0"), join(src, "c/linked"));
    symlinkSync("../a/f1", join(src, "c/sym"));
    const { snapshot } = await backup(fx.repo, [src]);
    const target = join(fx.tmp.path, "target");
    mkdirSync(target);
    const root = openTargetDirs(target, mode);
    const fd = openSync(root.root, constants.O_RDONLY | constants.O_DIRECTORY);
    const dirs = new TargetDirs(root.root, fd, mode, 1);
    const summary = await restore(fx.repo, snapshot, { target, targetDirs: dirs, verify: true });
    dirs.close();
    root.close();
    expect(summary.errors).toEqual([]);
    expect(summary.files_linked).toBe(2);
    const diff = spawnSync("diff", ["-r", "--no-dereference", src, join(target, src)]);
    expect(diff.stdout.toString() + diff.stderr.toString()).toBe("");
    const ino = (p: string) => lstatSync(join(target, src, p)).ino;
    expect(ino("c/linked")).toBe(ino("a/x/y/f0"));
  });
});

it("refuses a target that became a symlink out of the allowed folders since it was checked", async () => {
  const allowed = join(fx.tmp.path, "allowed");
  const outside = join(fx.tmp.path, "outside");
  mkdirSync(join(allowed, "t"), { recursive: true });
  mkdirSync(outside);
  symlinkSync(allowed, join(fx.tmp.path, "via-link"));
  // Inside, also when the allowed folder is written through a symlink.
  openTarget(join(allowed, "t"), undefined, [join(fx.tmp.path, "via-link")]).close();
  // A server checked allowed/t; before the restore opens it, it becomes a symlink to outside.
  rmSync(join(allowed, "t"), { recursive: true });
  symlinkSync(outside, join(allowed, "t"));
  expect(() => openTarget(join(allowed, "t"), undefined, [allowed])).toThrow(/outside the allowed folders/);
  writeFileSync(join(fx.tmp.path, "f"), "data");
  const { snapshot } = await backup(fx.repo, [join(fx.tmp.path, "f")]);
  await expect(restore(fx.repo, snapshot, { target: join(allowed, "t"), within: [allowed] })).rejects.toThrow(
    /outside the allowed folders/,
  );
  expect(readdirSync(outside)).toEqual([]);
});

it("refuses a target that is a file, naming it", () => {
  const file = join(fx.tmp.path, "file");
  writeFileSync(file, "");
  expect(() => openTarget(file)).toThrow(`cannot restore into ${file}: it is not a folder`);
});

describe.each(["proc", "verify"] as const)("folders made by the restore (%s mode)", (mode) => {
  it("knows which folders it made (their files skip the existence check) and forgets removed ones", () => {
    mkdirSync(join(fx.tmp.path, "old"));
    const dirs = openTargetDirs(fx.tmp.path, mode);
    const root = dirs.root;
    const sub = (...p: string[]) => Buffer.from([root.toString(), ...p].join("/"));
    try {
      dirs.mkdir(sub("new"));
      dirs.mkdir(sub("new", "deeper"));
      expect(dirs.inMadeFolder(sub("new", "f"))).toBe(true);
      expect(dirs.inMadeFolder(sub("new", "deeper", "f"))).toBe(true);
      expect(dirs.inMadeFolder(sub("old", "f"))).toBe(false);
      expect(dirs.inMadeFolder(sub("f"))).toBe(false);
      // Created through the descriptors: the file lands in the folder made above.
      const fd = dirs.open(sub("new", "f"), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      expect(() =>
        dirs.open(sub("new", "f"), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL),
      ).toThrow(expect.objectContaining({ code: "EEXIST" }));
      dirs.rename(sub("new", "f"), sub("old", "g"));
      expect(readdirSync(join(fx.tmp.path, "old"))).toEqual(["g"]);
      dirs.remove(sub("new"));
      expect(dirs.inMadeFolder(sub("new", "f"))).toBe(false);
      expect(dirs.inMadeFolder(sub("new", "deeper", "f"))).toBe(false);
      closeSync(fd);
    } finally {
      dirs.close();
    }
  });
});
