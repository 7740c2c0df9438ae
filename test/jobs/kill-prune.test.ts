/**
 * A real server SIGKILLed in the middle of a prune started from the web (Run now on a job whose
 * prune is due) on an S3 destination: the prune's first pack delete is held at a proxy, the server
 * is killed while it waits. The orphaned child stops and releases its exclusive lock; after a
 * restart the run is failed/interrupted with an alert, the next run (backup, forget, prune)
 * completes, and `check --read-data` passes.
 */
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { build, file } from "../helpers/fs-tree.ts";
import type { SeenRequest } from "../helpers/gate-proxy.ts";
import { childPids, waitGone } from "../helpers/process-tree.ts";
import { waitForRow } from "../helpers/server-process.ts";
import { ended, expectCheckPasses, locksIn, runNow, seedS3Job, useKillHarness } from "./kill-fixture.ts";

const { world, serve } = useKillHarness();

/** A pack delete: DeleteObjects naming a data/ key, or DeleteObject of one. */
const packDelete = (r: SeenRequest) =>
  (r.method === "POST" && r.query.has("delete") && r.body.includes("/data/")) ||
  (r.method === "DELETE" && r.path.includes("/data/"));

describe("a server killed mid-prune", () => {
  it("leaves the run interrupted with an alert, no lock, a next run that completes and a sound repository", async () => {
    const { s3, proxy, root } = await world("prune");
    const src = join(root, "src");
    build(src, { "v.bin": file(randomBytes(256 * 1024)), "same.txt": file("kept in every snapshot\n") });
    const w = await seedS3Job(root, s3, proxy.endpoint, [src], { pruneEveryMs: 0 });
    const first = await serve(w.dataDir);
    // Two runs: the second forgets the first snapshot and prunes its pack (keep last 1, prune always due).
    for (let i = 0; i < 2; i++) {
      writeFileSync(join(src, "v.bin"), randomBytes(256 * 1024));
      expect(await ended(w, await runNow(first.url, w))).toEqual({ status: "completed", reason: null });
    }
    writeFileSync(join(src, "v.bin"), randomBytes(256 * 1024));
    const held = proxy.holdWhen(packDelete);
    const runId = await runNow(first.url, w);
    await held;
    const children = childPids(first.proc.pid);
    expect(children.length).toBe(1);
    await waitForRow(w.dbPath, `select id from backup_logs where id = '${runId}' and status = 'running'`);
    first.proc.kill("SIGKILL");
    await first.proc.exited;
    // The orphan notices, cancels the prune and deletes its exclusive lock before it exits.
    await waitGone(children);
    expect(await locksIn(s3, w)).toEqual([]);
    proxy.release();

    const second = await serve(w.dataDir);
    expect(await ended(w, runId)).toEqual({
      status: "failed",
      reason: "interrupted: the server stopped during the run",
    });
    const alert = await waitForRow<{ message: string; log_id: string }>(
      w.dbPath,
      `select message, log_id from alerts where kind = 'interrupted' and config_id = '${w.jobId}'`,
    );
    expect(alert.log_id).toBe(runId);
    expect(alert.message).toContain("was interrupted: the server stopped during the run");
    writeFileSync(join(src, "v.bin"), randomBytes(256 * 1024));
    expect(await ended(w, await runNow(second.url, w))).toEqual({ status: "completed", reason: null });
    const pruned = await waitForRow<{ n: number }>(
      w.dbPath,
      `select count(*) as n from destinations where id = '${w.destinationId}' and last_prune_at is not null`,
    );
    expect(pruned.n).toBe(1);
    await waitForRow(
      w.dbPath,
      `select id from alerts where kind = 'interrupted' and resolved_at is not null`,
    );
    second.proc.kill("SIGTERM");
    expect(await second.proc.exited).toBe(0);
    await expectCheckPasses(s3, w);
  }, 240_000);
});
