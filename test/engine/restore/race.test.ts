/**
 * A folder of the restore target that another process replaces with a symlink mid-restore: the
 * restore must never write through it (issue 13, "Hostile input"). The swap happens in the
 * engine's afterDirMade hook, so it lands at a known point: after the folder was made, before
 * its files (batched, written later) are created.
 */
import {
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { backup } from "../../../src/engine/backup.ts";
import { openTarget, type TargetMode } from "../../../src/engine/restore/target-dirs.ts";
import { restore } from "../../../src/engine/restore.ts";
import type { Snapshot } from "../../../src/engine/types.ts";
import { useMemoryRepo } from "../../helpers/engine-repo.ts";

const fx = useMemoryRepo();

const FILES = 300;

/** src/docs/{f0..f299}, src/docs/sub/{s0..s9}, src/keep/ok.txt. */
async function snapshot(): Promise<{ src: string; snap: Snapshot }> {
  const src = join(fx.tmp.path, "src");
  mkdirSync(join(src, "docs", "sub"), { recursive: true });
  mkdirSync(join(src, "keep"));
  for (let i = 0; i < FILES; i++) writeFileSync(join(src, "docs", `f${i}`), `file ${i}\n`);
  for (let i = 0; i < 10; i++) writeFileSync(join(src, "docs", "sub", `s${i}`), `sub ${i}\n`);
  writeFileSync(join(src, "keep", "ok.txt"), "kept\n");
  const { snapshot: snap } = await backup(fx.repo, [src]);
  return { src, snap };
}

function outsideDir(): string {
  const outside = join(fx.tmp.path, "outside");
  mkdirSync(outside);
  return outside;
}

/** Everything below `dir`, recursively (the outside folder must stay empty). */
function listAll(dir: string): string[] {
  return readdirSync(dir, { recursive: true }).map(String);
}

describe.each<TargetMode>(["proc", "verify"])(
  "a folder swapped for a symlink mid-restore (%s mode)",
  (mode) => {
    it("writes nothing through the symlink, reports the folder's entries and restores the rest", async () => {
      const { src, snap } = await snapshot();
      const outside = outsideDir();
      const target = join(fx.tmp.path, "target");
      const docs = join(target, src, "docs");
      let swapped = 0;
      const dirs = openTarget(target, mode);
      const summary = await restore(fx.repo, snap, {
        target,
        targetDirs: dirs,
        afterDirMade(path) {
          if (path !== docs) return;
          rmSync(path, { recursive: true });
          symlinkSync(outside, path);
          swapped++;
        },
      });
      dirs.close();
      expect(swapped).toBe(1);
      expect(listAll(outside)).toEqual([]);
      expect(lstatSync(docs).isSymbolicLink()).toBe(true);
      // Every file of docs (and docs itself, for its metadata) is an error naming it.
      const failed = new Set(summary.errors.map((e) => e.path));
      expect(failed.has(`${src}/docs/f0`)).toBe(true);
      expect(failed.has(`${src}/docs/f${FILES - 1}`)).toBe(true);
      expect(failed.has(`${src}/docs`)).toBe(true);
      expect(summary.errors.find((e) => e.path === `${src}/docs/f0`)?.message).toMatch(
        /docs is no longer a folder of the restore target/,
      );
      expect(summary.errors.every((e) => e.path.startsWith(`${src}/docs`))).toBe(true);
      expect(readFileSync(join(target, src, "keep", "ok.txt"), "utf8")).toBe("kept\n");
    });

    it("keeps writing into the folder it opened when that folder is moved aside and replaced", async () => {
      const { src, snap } = await snapshot();
      const outside = outsideDir();
      const target = join(fx.tmp.path, "target");
      const docs = join(target, src, "docs");
      const parked = join(target, "parked");
      const dirs = openTarget(target, mode);
      const summary = await restore(fx.repo, snap, {
        target,
        targetDirs: dirs,
        // By the time docs/sub is made, docs was reached (and, in proc mode, opened) by the restore.
        afterDirMade(path) {
          if (path !== join(docs, "sub")) return;
          renameSync(docs, parked);
          symlinkSync(outside, docs);
        },
      });
      dirs.close();
      expect(listAll(outside)).toEqual([]);
      expect(summary.errors.length).toBeGreaterThan(0);
      expect(summary.errors.map((e) => e.path)).toContain(`${src}/docs`);
      expect(summary.errors.every((e) => e.path.startsWith(`${src}/docs`))).toBe(true);
      // What was written for docs is inside the target: in the folder opened, now parked.
      const inParked = listAll(parked).filter((n) => /^f\d+$/.test(n));
      if (mode === "proc") expect(inParked.length).toBe(FILES);
      expect(readFileSync(join(target, src, "keep", "ok.txt"), "utf8")).toBe("kept\n");
    });
  },
);
