import { symlinkSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startS3rver, type TestS3 } from "../../helpers/s3rver.ts";
import { expectSameTree } from "../engine/fixtures.ts";
import { randomBytesSeeded, s3Repo } from "../upkeep/fixtures.ts";
import { backapp, backupId, ok, workspace, writeFiles } from "./fixtures.ts";

let s3: TestS3;
beforeAll(async () => {
  s3 = await startS3rver();
});
afterAll(async () => {
  await s3?.stop();
});

describe("copy --from-repo", () => {
  it("copies from a local repository into an S3 one with another passphrase; the copy restores byte for byte", async () => {
    const w = await workspace();
    writeFiles(w.src, {
      "caf\u00e9 😀.txt": "unicode",
      "--json": "dash",
      "new\nline": "nl",
      "big.bin": randomBytesSeeded(2_500_000, 9),
      "dup-a.bin": randomBytesSeeded(300_000, 4),
      "sub/dup-b.bin": randomBytesSeeded(300_000, 4),
    });
    symlinkSync("caf\u00e9 😀.txt", join(w.src, "link"));
    const first = await backupId(w.repo, ["--tag", "daily", w.src]);
    const dest = s3Repo(s3);
    const destEnv = { ...dest.env, BACKAPP_PASSWORD: "another passphrase entirely" };
    const target = { address: dest.address, env: destEnv };
    await ok(target, ["init"]);
    const args = ["copy", "--from-repo", w.repo.address, "--json"];
    const env = { BACKAPP_FROM_PASSWORD: w.repo.env.BACKAPP_PASSWORD };
    const r = await backapp(target, args, { env });
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as {
      copied: number;
      skipped: number;
      snapshots: { source: string }[];
    };
    expect(result).toMatchObject({ copied: 1, skipped: 0 });
    expect(result.snapshots[0]?.source).toBe(first);
    // Again: nothing to copy.
    const again = JSON.parse((await backapp(target, args, { env })).stdout) as {
      copied: number;
      skipped: number;
    };
    expect(again).toMatchObject({ copied: 0, skipped: 1 });
    const snaps = JSON.parse(await ok(target, ["snapshots", "--json"])) as {
      tags: string[];
      paths: string[];
    }[];
    expect(snaps).toHaveLength(1);
    expect(snaps[0]).toMatchObject({ tags: ["daily"], paths: [w.src] });
    const out = join(w.dir, "restored");
    await ok(target, ["restore", "latest", "--target", out]);
    expectSameTree(join(out, w.src), w.src);
    const check = await backapp(target, ["check", "--read-data"]);
    expect(check.code, check.stdout).toBe(0);
    // The source passphrase is needed and named as such.
    const noPw = await backapp(target, ["copy", "--from-repo", w.repo.address]);
    expect(noPw.code).toBe(1);
    expect(noPw.stderr).toContain("no passphrase given for the source repository: set BACKAPP_FROM_PASSWORD");
  });
});
