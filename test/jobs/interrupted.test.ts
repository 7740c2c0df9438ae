/**
 * A real server process (`bun src/main.ts serve`) killed with SIGKILL in the middle of a run:
 * after a restart the run's row is failed/interrupted with an alert, and the next run completes.
 */
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { replaceConfigRecord } from "../../src/db/backup-configs.ts";
import { openDatabase } from "../../src/db/client.ts";
import { spawnServer, waitForRow } from "../helpers/server-process.ts";
import { tempDir } from "../helpers/temp.ts";
import { jobInput, seedSlowLocalJob } from "./run-fixture.ts";

const procs: ReturnType<typeof Bun.spawn>[] = [];
const dirs: { cleanup(): void }[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) {
    p.kill("SIGKILL");
    await p.exited;
  }
  for (const d of dirs.splice(0)) d.cleanup();
});

async function serve(dataDir: string) {
  const proc = await spawnServer(dataDir);
  procs.push(proc);
  return proc;
}

describe("a server killed mid-run", () => {
  it("leaves the run failed/interrupted with an alert after restart, and the next run completes", async () => {
    const dir = tempDir("backapp-kill-");
    dirs.push(dir);
    const { dataDir, src, destinationId, jobId, slow } = await seedSlowLocalJob(dir.path);
    const dbPath = join(dataDir, "backapp.db");
    const first = await serve(dataDir);
    const running = await waitForRow<{ id: string }>(
      dbPath,
      `select id from backup_logs where config_id = '${jobId}' and status = 'running'`,
    );
    first.kill("SIGKILL");
    await first.exited;

    const again = openDatabase(dataDir);
    replaceConfigRecord(
      again.db,
      jobId,
      jobInput(destinationId, [src], { schedule: slow.schedule }),
      Date.now(),
    );
    again.close();

    const second = await serve(dataDir);
    const row = await waitForRow<{ status: string; reason: string }>(
      dbPath,
      `select status, reason from backup_logs where id = '${running.id}' and status != 'running'`,
    );
    expect(row).toEqual({ status: "failed", reason: "interrupted" });
    const alert = await waitForRow<{ kind: string; log_id: string }>(
      dbPath,
      `select kind, log_id from alerts where config_id = '${jobId}' and kind = 'interrupted'`,
    );
    expect(alert.log_id).toBe(running.id);
    const done = await waitForRow<{ snapshot_id: string }>(
      dbPath,
      `select snapshot_id from backup_logs where config_id = '${jobId}' and status = 'completed'`,
    );
    expect(done.snapshot_id).toMatch(/^[0-9a-f]{64}$/);
    // The success resolved the interruption alert.
    await waitForRow(dbPath, `select id from alerts where kind = 'interrupted' and resolved_at is not null`);
    second.kill("SIGTERM");
    expect(await second.exited).toBe(0);
  }, 240_000);
});
