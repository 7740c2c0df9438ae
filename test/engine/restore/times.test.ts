/**
 * Restored metadata to the last bit: nanosecond mtimes (also before 1970) on files, directories
 * and symlinks, and a rerun that repairs a file whose mode or owner changed although its size and
 * mtime still match.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, lstatSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { backup } from "../../../src/engine/backup.ts";
import type { RepositoryImpl } from "../../../src/engine/repository/repository.ts";
import { exactTimes, secondsString, timespecs } from "../../../src/engine/restore/times.ts";
import { restore } from "../../../src/engine/restore.ts";
import { memoryRepo } from "../../helpers/engine-repo.ts";
import { tempDir } from "../../helpers/temp.ts";

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

/** Sets a nanosecond mtime with coreutils' touch (independent of the code under test). */
function touch(path: string, date: string): void {
  execFileSync("touch", ["-h", "-d", date, path]);
}

const mtimeNs = (path: string) => lstatSync(path, { bigint: true }).mtimeNs;

describe("restored times", () => {
  it("sets times to the nanosecond on Linux and macOS (libc through bun:ffi)", () => {
    // Not a skip: on the platforms backapp ships for, the exact path must be the one in use.
    expect(exactTimes).toBe(process.platform === "linux" || process.platform === "darwin");
  });

  it("keeps nanoseconds and dates before 1970 for files, directories and symlinks", async () => {
    const src = join(tmp.path, "src");
    mkdirSync(join(src, "old dir"), { recursive: true });
    writeFileSync(join(src, "old dir", "1960.txt"), "sixties");
    writeFileSync(join(src, "ms.txt"), "a time with whole milliseconds");
    writeFileSync(join(src, "epoch.txt"), "");
    symlinkSync("nowhere", join(src, "old link"));
    touch(join(src, "old dir", "1960.txt"), "1960-01-01 00:00:00.123456789 UTC");
    touch(join(src, "ms.txt"), "2023-11-14 22:13:20.123000000 UTC");
    touch(join(src, "epoch.txt"), "1969-12-31 23:59:59.999999999 UTC");
    touch(join(src, "old link"), "1950-06-15 12:00:00.000000001 UTC");
    touch(join(src, "old dir"), "1965-03-01 08:30:00.5 UTC");
    const { snapshot } = await backup(repo, [src]);
    const out = join(tmp.path, "out");
    const r = await restore(repo, snapshot, { target: out });
    expect(r.errors).toEqual([]);
    for (const p of ["old dir/1960.txt", "ms.txt", "epoch.txt", "old link", "old dir"]) {
      expect([p, mtimeNs(join(out, src, p))]).toEqual([p, mtimeNs(join(src, p))]);
    }
    expect(mtimeNs(join(out, src, "old dir/1960.txt"))).toBe(-315619199876543211n);
    // A second run finds every file in place (exact comparison).
    const again = await restore(repo, snapshot, { target: out });
    expect(again).toMatchObject({ files_restored: 0, files_skipped: 3, errors: [] });
  });

  it("encodes times for the C and the Node calls, floor-divided before 1970", () => {
    expect([...timespecs("-315619199876543211")]).toEqual([-315619200n, 123456789n, -315619200n, 123456789n]);
    expect([...timespecs("1700000000000000001")].slice(0, 2)).toEqual([1700000000n, 1n]);
    expect([...timespecs("-1")].slice(0, 2)).toEqual([-1n, 999999999n]);
    expect(secondsString("-315619199876543211")).toBe("-315619199.876543211");
    expect(secondsString("5")).toBe("0.000000005");
    expect(secondsString("0")).toBe("0.000000000");
  });
});

describe("a rerun repairs metadata", () => {
  it("rewrites a file whose mode changed though size and mtime match", async () => {
    const src = join(tmp.path, "src");
    mkdirSync(src);
    writeFileSync(join(src, "tool"), "#!/bin/sh\n");
    chmodSync(join(src, "tool"), 0o4755);
    writeFileSync(join(src, "plain"), "p");
    const { snapshot } = await backup(repo, [src]);
    const out = join(tmp.path, "out");
    await restore(repo, snapshot, { target: out });
    expect(lstatSync(join(out, src, "tool")).mode & 0o7777).toBe(0o4755);
    chmodSync(join(out, src, "tool"), 0o777);
    const isRoot = process.getuid?.() === 0;
    // As root the owner is restored too, so a changed owner is repaired as well.
    if (isRoot) chownSync(join(out, src, "plain"), 4321, 4321);
    const again = await restore(repo, snapshot, { target: out });
    expect(again.errors).toEqual([]);
    expect(again.files_restored).toBe(isRoot ? 2 : 1);
    expect(lstatSync(join(out, src, "tool")).mode & 0o7777).toBe(0o4755);
    expect(lstatSync(join(out, src, "plain")).uid).toBe(lstatSync(join(src, "plain")).uid);
  });
});
