/**
 * The staging folder of "skip" and "keep both" restores: stale ones (their process is gone) are
 * removed by the next restore into the target, and a staging folder or a folder inside it swapped
 * for a symlink mid-restore gets nothing written through it.
 */
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { backup } from "../../../src/engine/backup.ts";
import { restoreWithPolicy } from "../../../src/engine/restore/existing.ts";
import type { Snapshot } from "../../../src/engine/types.ts";
import { useMemoryRepo } from "../../helpers/engine-repo.ts";

const fx = useMemoryRepo();

async function snapshot(): Promise<{ src: string; snap: Snapshot }> {
  const src = join(fx.tmp.path, "src");
  mkdirSync(join(src, "docs"), { recursive: true });
  for (let i = 0; i < 50; i++) writeFileSync(join(src, "docs", `f${i}`), `file ${i}\n`);
  writeFileSync(join(src, "top.txt"), "top\n");
  const { snapshot: snap } = await backup(fx.repo, [src]);
  return { src, snap };
}

function staging(target: string): string[] {
  return readdirSync(target).filter((n) => n.startsWith(".backapp-restore-"));
}

describe("restore staging folders", () => {
  it("the next restore removes staging folders whose process is gone, and only those", async () => {
    const { src, snap } = await snapshot();
    const target = join(fx.tmp.path, "target");
    mkdirSync(target);
    const deadPid = spawnSync("true").pid;
    expect(deadPid).toBeGreaterThan(0);
    const dead = join(target, `.backapp-restore-${deadPid}-0123456789ab`);
    const live = join(target, `.backapp-restore-${process.pid}-ba9876543210`);
    const legacy = join(target, ".backapp-restore-aaaaaaaaaaaa");
    for (const d of [dead, live, legacy]) {
      mkdirSync(join(d, "half", "done"), { recursive: true });
      writeFileSync(join(d, "half", "done", "file"), "partial");
    }
    utimesSync(legacy, new Date("2020-01-01"), new Date("2020-01-01"));
    writeFileSync(join(target, ".backapp-restore-notes"), "a user's file with a similar name");
    const summary = await restoreWithPolicy(fx.repo, snap, { target, existing: "skip" });
    expect(summary.errors).toEqual([]);
    expect(staging(target).sort()).toEqual([".backapp-restore-notes", basename(live)].sort());
    expect(readFileSync(join(target, src, "top.txt"), "utf8")).toBe("top\n");
    // An overwrite restore cleans up too.
    rmSync(live, { recursive: true });
    mkdirSync(dead);
    await restoreWithPolicy(fx.repo, snap, { target, existing: "overwrite" });
    expect(staging(target)).toEqual([".backapp-restore-notes"]);
  });

  it.each(["skip", "rename"] as const)(
    "%s: a folder swapped for a symlink inside the staging folder is never written through",
    async (existing) => {
      const { snap } = await snapshot();
      const target = join(fx.tmp.path, "target");
      const outside = join(fx.tmp.path, "outside");
      mkdirSync(outside);
      const summary = await restoreWithPolicy(fx.repo, snap, {
        target,
        existing,
        afterDirMade(path) {
          if (basename(path) !== "docs") return;
          rmSync(path, { recursive: true });
          symlinkSync(outside, path);
        },
      });
      expect(readdirSync(outside)).toEqual([]);
      expect(summary.errors.length).toBeGreaterThan(0);
      expect(summary.errors[0]?.message).toMatch(/no longer a folder of the restore target/);
      expect(staging(target)).toEqual([]);
    },
  );

  it("a staging folder moved aside and replaced by a symlink: the restore fails, nothing outside", async () => {
    const { snap } = await snapshot();
    const target = join(fx.tmp.path, "target");
    const outside = join(fx.tmp.path, "outside");
    mkdirSync(outside);
    let moved = "";
    const run = restoreWithPolicy(fx.repo, snap, {
      target,
      existing: "skip",
      afterDirMade(path) {
        if (moved) return;
        // The first folder made is directly in the staging folder.
        const stage = dirname(path);
        moved = join(target, "parked");
        renameSync(stage, moved);
        symlinkSync(outside, stage);
      },
    });
    await expect(run).rejects.toThrow(/no longer a folder of the restore target/);
    expect(readdirSync(outside)).toEqual([]);
    // The restore wrote into the folder it opened (now parked, inside the target); the link is gone.
    expect(existsSync(moved)).toBe(true);
    expect(staging(target)).toEqual([]);
  });
});
