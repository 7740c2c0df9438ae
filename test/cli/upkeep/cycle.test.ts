import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startS3rver, type TestS3 } from "../../helpers/s3rver.ts";
import { tempDir } from "../../helpers/temp.ts";
import {
  backapp,
  expectRestoresExactly,
  localRepo,
  packBytes,
  runJson,
  s3Repo,
  type TestRepo,
  takeSnapshots,
} from "./fixtures.ts";

let s3: TestS3;
beforeAll(async () => {
  s3 = await startS3rver();
});
afterAll(async () => {
  await s3?.stop();
});
const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
});

interface ForgetJson {
  dry_run: boolean;
  groups: {
    key: { host: string; paths: string[] };
    keep: { id: string; reasons: string[] }[];
    remove: { id: string }[];
  }[];
  removed: string[];
  prune: { packs: { removed: number; repacked: number }; bytes: { freed: number } } | null;
}

describe.each(["local", "s3"] as const)("forget + prune cycle on %s", (kind) => {
  it("shrinks the repository and every remaining snapshot restores byte for byte", async () => {
    const dir = tempDir();
    cleanups.push(dir.cleanup);
    const repo: TestRepo = kind === "local" ? localRepo(dir.path) : s3Repo(s3);
    expect((await backapp(repo, ["init"])).code).toBe(0);
    const src = join(dir.path, "src");
    const taken = await takeSnapshots(repo, src, 6, { packSize: 256 * 1024 });
    const statsBefore = await runJson<{ snapshots: number; stored_size: number; dedup_ratio: number }>(repo, [
      "stats",
      "--json",
    ]);
    expect(statsBefore.snapshots).toBe(6);
    expect(statsBefore.dedup_ratio).toBeGreaterThan(1.5);
    const before = await packBytes(repo);

    const dry = await runJson<ForgetJson>(repo, [
      "forget",
      "--keep-daily",
      "3",
      "--dry-run",
      "--json",
      "--time-zone",
      "UTC",
    ]);
    expect(dry.dry_run).toBe(true);
    expect(dry.groups).toHaveLength(1);
    expect(dry.groups[0]!.keep.map((k) => k.reasons)).toEqual([
      ["daily 2026-01-06"],
      ["daily 2026-01-05"],
      ["daily 2026-01-04"],
    ]);
    expect(await packBytes(repo)).toBe(before);

    const res = await runJson<ForgetJson>(repo, [
      "forget",
      "--keep-daily",
      "3",
      "--prune",
      "--max-unused",
      "0",
      "--json",
      "--time-zone",
      "UTC",
    ]);
    expect(res.removed).toHaveLength(3);
    expect(res.prune!.bytes.freed).toBeGreaterThan(0);
    const after = await packBytes(repo);
    expect(after).toBeLessThan(before);
    expect(before - after).toBe(res.prune!.bytes.freed);

    const check = await backapp(repo, ["check", "--read-data"]);
    expect(check.stderr).toBe("");
    expect(check.code).toBe(0);
    const restored = await expectRestoresExactly(repo, src, taken, dir.path);
    expect(restored.sort()).toEqual(dry.groups[0]!.keep.map((k) => k.id).sort());

    const statsAfter = await runJson<{ snapshots: number; stored_size: number }>(repo, ["stats", "--json"]);
    expect(statsAfter.snapshots).toBe(3);
    expect(statsAfter.stored_size).toBe(after);

    const again = await backapp(repo, ["prune"]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("repack 0, delete 0 unused and 0 unindexed");
  });
});
