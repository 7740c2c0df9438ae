import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { packBytes, randomBytesSeeded } from "../upkeep/fixtures.ts";
import { backapp, backupId, ok, REPO_KINDS, workspaces, writeFiles } from "./fixtures.ts";

const workspaceOn = workspaces();

describe.each(REPO_KINDS)("rewrite --exclude (%s)", (kind) => {
  it("removes files from a snapshot; check --read-data passes and prune frees their data", async () => {
    const w = await workspaceOn(kind);
    writeFiles(w.src, {
      "keep/a.txt": "a",
      "secret.key": randomBytesSeeded(400_000, 1),
      "logs/huge.log": randomBytesSeeded(900_000, 2),
      "logs/keep.txt": "k",
    });
    const id = await backupId(w.repo, [w.src]);
    const dry = await ok(w.repo, ["rewrite", "--exclude", "*.log", "--exclude", "secret.key", "--dry-run"]);
    expect(dry).toContain(`would remove ${w.src}/secret.key from ${id.slice(0, 8)}`);
    expect(dry).toContain("would rewrite 1 snapshot");
    const json = JSON.parse(
      await ok(w.repo, ["rewrite", "--exclude", "*.log", "--exclude", "secret.key", "--forget", "--json"]),
    ) as { old: string; new: string; removed: number }[];
    expect(json).toEqual([{ old: id, new: expect.stringMatching(/^[0-9a-f]{64}$/), removed: 2 }]);
    const snaps = JSON.parse(await ok(w.repo, ["snapshots", "--json"])) as { id: string; tags: string[] }[];
    expect(snaps.map((s) => [s.id, s.tags])).toEqual([[json[0]!.new, ["rewrite"]]]);
    const check = await backapp(w.repo, ["check", "--read-data"]);
    expect(check.code, check.stdout).toBe(0);
    const before = await packBytes(w.repo);
    await ok(w.repo, ["prune", "--max-unused", "0"]);
    expect(await packBytes(w.repo)).toBeLessThan(before - 1_000_000);
    expect((await backapp(w.repo, ["check", "--read-data"])).code).toBe(0);
    const out = join(w.dir, "out");
    await ok(w.repo, ["restore", "latest", "--target", out]);
    const got = join(out, w.src);
    expect(readFileSync(join(got, "keep", "a.txt"), "utf8")).toBe("a");
    expect(readFileSync(join(got, "logs", "keep.txt"), "utf8")).toBe("k");
    expect(existsSync(join(got, "secret.key"))).toBe(false);
    expect(existsSync(join(got, "logs", "huge.log"))).toBe(false);
    expect((await backapp(w.repo, ["rewrite"])).code).toBe(2);
  });
});
