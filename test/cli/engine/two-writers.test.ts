/**
 * Two writers: two processes with different --host back up into one repository at the same time,
 * round after round, while a third process runs `forget --keep-last 2 --prune`. Prune takes the
 * exclusive lock, so it either runs between backups or is refused (and a backup started while
 * prune holds the lock is refused the same way): nothing a running backup needs is deleted. At
 * the end every snapshot that completed restores byte for byte and `check --read-data` passes.
 * Seeded sources; the interleaving is whatever the scheduler gives (each outcome is checked).
 * `npm run chaos` runs many more rounds (test/chaos/two-writers.chaos.ts).
 */
import { afterEach, describe, expect, it } from "vitest";
import { tempDir } from "../../helpers/temp.ts";
import { backapp, localRepo } from "../upkeep/fixtures.ts";
import { expectAllRestore, twoWriterRounds } from "./two-writers-fixture.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
});

describe("two writers and a pruner on one repository", () => {
  it("every completed snapshot restores and check --read-data passes", async () => {
    const dir = tempDir();
    cleanups.push(dir.cleanup);
    const repo = localRepo(dir.path);
    expect((await backapp(repo, ["init"])).code).toBe(0);
    const taken = await twoWriterRounds(repo, dir.path, 3);
    expect(taken.size).toBeGreaterThan(0);
    expect(await expectAllRestore(repo, dir.path, taken)).toBeGreaterThan(0);
  }, 300_000);
});
