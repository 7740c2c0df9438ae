import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startS3rver, type TestS3 } from "../../helpers/s3rver.ts";
import { tempDir } from "../../helpers/temp.ts";
import { backapp, localRepo, s3Repo } from "../upkeep/fixtures.ts";

let s3: TestS3;
beforeAll(async () => {
  s3 = await startS3rver();
});
afterAll(async () => {
  await s3?.stop();
});

describe("init says what is wrong with the place", () => {
  it("a file, or a path below a file, is named as a file", async () => {
    const d = tempDir();
    const file = join(d.path, "afile");
    writeFileSync(file, "x");
    for (const repo of [file, join(file, "sub", "repo")]) {
      const r = await backapp(localRepo(d.path), ["init", "--repo", repo]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`backapp init: ${file} is a file, not a folder\n`);
    }
    d.cleanup();
  });

  it("a non-empty folder that is no repository is refused unless --force (and kept intact)", async () => {
    const d = tempDir();
    const folder = join(d.path, "home");
    mkdirSync(folder);
    writeFileSync(join(folder, "notes.txt"), "mine");
    const repo = localRepo(d.path);
    const refused = await backapp(repo, ["init", "--repo", folder]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("is not empty and holds no repository (it has notes.txt)");
    expect(refused.stderr).toContain("--force");
    expect(readdirSync(folder)).toEqual(["notes.txt"]);
    expect((await backapp(repo, ["init", "--repo", folder, "--force"])).code).toBe(0);
    expect(readdirSync(folder)).toContain("notes.txt");
    expect((await backapp(repo, ["snapshots", "--repo", folder])).code).toBe(0);
    d.cleanup();
  });

  it("the same on S3: a prefix holding other objects is refused", async () => {
    const inner = s3Repo(s3);
    expect((await backapp(inner, ["init"])).code).toBe(0);
    const parent = inner.address.slice(0, inner.address.lastIndexOf("/"));
    const r = await backapp(inner, ["init", "--repo", parent]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("is not empty and holds no repository");
  });
});
