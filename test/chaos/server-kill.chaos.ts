/**
 * Long run of the lost server: CHAOS_ROUNDS rounds (default 12), seeded by CHAOS_SEED (default 1).
 * Each round starts the real server on one data dir and an S3 destination (s3rver behind a gate
 * proxy), starts a run through the API — a backup with forget and prune (prune always due), or
 * every 4th round a restore of the latest snapshot — holds the k-th storage request (k drawn) and
 * SIGKILLs the server while it waits, a third of the time its child too. After a restart the run
 * is completed (the kill came after its end) or failed/interrupted, never running; the next run
 * completes (a restore then matches the source byte for byte); `check --read-data` passes every
 * 3rd round and at the end. Prints the trials by kind and outcome.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { INTERRUPTED_REASON } from "../../src/jobs/run-recovery.ts";
import { randomBytesSeeded } from "../cli/upkeep/fixtures.ts";
import { build, listTree, treeDifferences } from "../helpers/fs-tree.ts";
import { childPids, waitGone } from "../helpers/process-tree.ts";
import {
  ended,
  expectCheckPasses,
  restoreNow,
  runNow,
  seedS3Job,
  useKillHarness,
} from "../jobs/kill-fixture.ts";

const rounds = Number(process.env.CHAOS_ROUNDS ?? 12);
let seed = Number(process.env.CHAOS_SEED ?? 1) >>> 0 || 1;
function rand(n: number): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) % n;
}

const { world, serve } = useKillHarness();

describe("chaos: a lost server", () => {
  it(`survives ${rounds} kills at drawn points of backups, prunes and restores`, async () => {
    const { s3, proxy, root } = await world("chaos");
    const src = join(root, "src");
    build(src, {});
    const w = await seedS3Job(root, s3, proxy.endpoint, [src], { pruneEveryMs: 0 });
    const tally: Record<string, number> = {};
    const count = (key: string) => {
      tally[key] = (tally[key] ?? 0) + 1;
    };
    let backedUp = false;

    for (let round = 0; round < rounds; round++) {
      const restore = backedUp && round % 4 === 3;
      if (!restore) {
        // Change a few files: new data for the backup, old data for prune to drop.
        for (let i = 0; i < 3; i++)
          writeFileSync(
            join(src, `f${rand(6)}.bin`),
            randomBytesSeeded(64 * 1024 * (1 + rand(8)), rand(1e9)),
          );
      }
      const target = join(root, `target-${round}`);
      const start = (url: string) => (restore ? restoreNow(url, w, target) : runNow(url, w));
      const server = await serve(w.dataDir);
      const k = 1 + rand(restore ? 20 : 60);
      // Counted from the API's answer (a restore's start reads the repository in the server).
      const id = await start(server.url);
      let n = 0;
      const held = proxy.holdWhen(() => ++n === k).then(() => "held" as const);
      const first = await Promise.race([held, ended(w, id).then(() => "ended" as const)]);
      const kind = restore ? "restore" : "backup+prune";
      if (first === "ended") {
        // The run made fewer than k requests: nothing to kill this round.
        proxy.release();
        count(`${kind}: ended before request ${k}`);
        expect((await ended(w, id)).status).toBe("completed");
      } else {
        const children = childPids(server.proc.pid);
        const both = rand(3) === 0;
        if (both) for (const pid of children) process.kill(pid, "SIGKILL");
        server.proc.kill("SIGKILL");
        await server.proc.exited;
        await waitGone(children);
        proxy.release();
        const again = await serve(w.dataDir);
        const end = await ended(w, id);
        expect(end.status === "completed" || end.reason === INTERRUPTED_REASON, JSON.stringify(end)).toBe(
          true,
        );
        count(`${kind}: killed ${both ? "with its child" : "alone"}, run ${end.status}`);
        const next = await start(again.url);
        expect(await ended(w, next)).toEqual({ status: "completed", reason: null });
        again.proc.kill("SIGTERM");
        expect(await again.proc.exited).toBe(0);
      }
      if (restore) expect(treeDifferences(listTree(join(target, src)), listTree(src))).toEqual([]);
      else backedUp = true;
      if (first === "ended") {
        server.proc.kill("SIGTERM");
        await server.proc.exited;
      }
      if (round % 3 === 2 || round === rounds - 1) {
        await expectCheckPasses(s3, w);
        count("check --read-data passed");
      }
    }
    console.log(`server-kill chaos, seed ${process.env.CHAOS_SEED ?? 1}:`, JSON.stringify(tally, null, 1));
  });
});
