import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { UsageError } from "../../../src/cli/args.ts";
import { parseMaxUnused } from "../../../src/cli/prune.ts";
import { tempDir } from "../../helpers/temp.ts";
import { backapp, localRepo, runJson, takeSnapshots } from "./fixtures.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
});

describe("prune --max-unused", () => {
  it.each([
    ["0", 0],
    ["5", 5],
    ["2.5", 2.5],
    ["2.5%", 2.5],
    [" 7 ", 7],
    ["100", 100],
    ["100%", 100],
    ["unlimited", 100],
  ])("%j → %d", (text, pct) => {
    expect(parseMaxUnused(text)).toBe(pct);
  });

  it.each(["-1", "101", "100.5", "abc", "", "1e2", "0x10", ".5", "5.", "5%%", "NaN", "Infinity"])(
    "rejects %j as a usage error",
    (text) => {
      expect(() => parseMaxUnused(text)).toThrow(UsageError);
    },
  );

  it("unlimited never repacks, 0 repacks every partly used pack", async () => {
    const dir = tempDir();
    cleanups.push(dir.cleanup);
    const repo = localRepo(dir.path);
    await backapp(repo, ["init"]);
    // Small packs mix blobs of consecutive snapshots, so forgetting leaves partly used packs.
    await takeSnapshots(repo, join(dir.path, "src"), 4, { packSize: 64 * 1024, size: 50_000 });
    expect((await backapp(repo, ["forget", "--keep-last", "1"])).code).toBe(0);
    type Report = { packs: { repacked: number; removed: number } };
    const never = await runJson<Report>(repo, ["prune", "--max-unused", "unlimited", "--dry-run", "--json"]);
    expect(never.packs.repacked).toBe(0);
    expect(never.packs.removed).toBeGreaterThan(0);
    const all = await runJson<Report>(repo, ["prune", "--max-unused", "0", "--json"]);
    expect(all.packs.repacked).toBeGreaterThan(0);
    const again = await backapp(repo, ["prune"]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("nothing to do");
  });
});
