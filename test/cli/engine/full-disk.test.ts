/**
 * A restore target that fills up: a 2 MiB tmpfs (mounted by the test; it needs root and fails
 * loudly without it — nothing is skipped). The restore fails with an error naming the file that
 * did not fit and ENOSPC; once space is freed (the tmpfs grown in place) the same restore command
 * completes and every file is exact.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { tempDir } from "../../helpers/temp.ts";
import { backapp, localRepo, randomBytesSeeded } from "../upkeep/fixtures.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
});

function mountTmpfs(dir: string, size: string): void {
  mkdirSync(dir, { recursive: true });
  execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir]);
  cleanups.push(() => execFileSync("umount", [dir]));
}

describe("a restore target that fills up", () => {
  it("names the file that did not fit, then resumes once space is freed", async () => {
    const dir = tempDir();
    cleanups.push(dir.cleanup);
    const repo = localRepo(dir.path);
    const src = join(dir.path, "src");
    mkdirSync(src);
    const files = new Map<string, Buffer>([
      ["a-small.txt", Buffer.from("small\n")],
      ["b-big.bin", Buffer.from(randomBytesSeeded(3 * 1024 * 1024, 11))],
      ["c-small.txt", Buffer.from("after the big one\n")],
    ]);
    for (const [n, b] of files) writeFileSync(join(src, n), b);
    expect((await backapp(repo, ["init"])).code).toBe(0);
    expect((await backapp(repo, ["backup", src])).code).toBe(0);

    const target = join(dir.path, "target");
    mountTmpfs(target, "2m");
    const full = await backapp(repo, ["restore", "latest", "--target", target]);
    expect(full.code).not.toBe(0);
    expect(full.stderr).toContain("b-big.bin");
    expect(full.stderr).toMatch(/ENOSPC|no space/i);

    execFileSync("mount", ["-o", "remount,size=16m", target]);
    const resumed = await backapp(repo, ["restore", "latest", "--target", target]);
    expect(resumed.code, resumed.stderr).toBe(0);
    for (const [n, b] of files) expect(readFileSync(join(target, src, n)).equals(b), n).toBe(true);
  });
});
