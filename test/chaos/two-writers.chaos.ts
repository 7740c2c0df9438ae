/** Long run of the two-writers test: CHAOS_ROUNDS rounds (default 15) of two backups and a prune. */
import { describe, expect, it } from "vitest";
import { expectAllRestore, type RoundStats, twoWriterRounds } from "../cli/engine/two-writers-fixture.ts";
import { backapp, localRepo } from "../cli/upkeep/fixtures.ts";
import { tempDir } from "../helpers/temp.ts";

const rounds = Number(process.env.CHAOS_ROUNDS ?? 15);

describe("chaos: two writers and a pruner", () => {
  it(`${rounds} rounds: every completed snapshot restores, check --read-data passes`, async () => {
    const dir = tempDir();
    try {
      const repo = localRepo(dir.path);
      expect((await backapp(repo, ["init"])).code).toBe(0);
      const stats: RoundStats = { backups: 0, backupsLocked: 0, prunes: 0, prunesLocked: 0 };
      const taken = await twoWriterRounds(repo, dir.path, rounds, stats);
      const restored = await expectAllRestore(repo, dir.path, taken);
      console.log(
        JSON.stringify({ chaos: "two-writers", rounds, ...stats, snapshotsRestored: restored, lost: 0 }),
      );
    } finally {
      dir.cleanup();
    }
  });
});
