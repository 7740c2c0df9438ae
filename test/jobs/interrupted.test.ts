/**
 * A real server process (`bun src/main.ts serve`) killed with SIGKILL in the middle of a scheduled
 * run into a local folder: the run's child notices its server is gone, stops and releases its
 * repository lock; after a restart the run's row is failed/interrupted with an alert, the next
 * run completes, and `check --read-data` passes.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { replaceConfigRecord } from "../../src/db/backup-configs.ts";
import { openDatabase } from "../../src/db/client.ts";
import { runProcess } from "../helpers/cli.ts";
import { waitForChildren, waitGone } from "../helpers/process-tree.ts";
import { spawnServer, waitForRow } from "../helpers/server-process.ts";
import { tempDir } from "../helpers/temp.ts";
import { jobInput, PASSWORD, seedSlowLocalJob } from "./run-fixture.ts";

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
    const { dataDir, src, address, destinationId, jobId, slow } = await seedSlowLocalJob(dir.path);
    const dbPath = join(dataDir, "backapp.db");
    const first = await serve(dataDir);
    const running = await waitForRow<{ id: string }>(
      dbPath,
      `select id from backup_logs where config_id = '${jobId}' and status = 'running'`,
    );
    const children = await waitForChildren(first.pid);
    // The run holds a repository lock (locks/<id>) while it uploads: 4 MiB at 32 KiB/s takes minutes.
    const locks = join(address, "locks");
    const heldLocks = () => (existsSync(locks) ? readdirSync(locks) : []);
    for (let i = 0; i < 600 && heldLocks().length === 0; i++) await Bun.sleep(100);
    expect(heldLocks().length).toBe(1);
    first.kill("SIGKILL");
    await first.exited;
    // The orphaned child stops writing: it cancels its backup, releases its lock and exits.
    await waitGone(children);
    expect(heldLocks()).toEqual([]);

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
    expect(row).toEqual({ status: "failed", reason: "interrupted: the server stopped during the run" });
    const alert = await waitForRow<{ kind: string; log_id: string; message: string }>(
      dbPath,
      `select kind, log_id, message from alerts where config_id = '${jobId}' and kind = 'interrupted'`,
    );
    expect(alert.log_id).toBe(running.id);
    expect(alert.message).toMatch(/^Backup ".+" was interrupted: the server stopped during the run/);
    const done = await waitForRow<{ snapshot_id: string }>(
      dbPath,
      `select snapshot_id from backup_logs where config_id = '${jobId}' and status = 'completed'`,
    );
    expect(done.snapshot_id).toMatch(/^[0-9a-f]{64}$/);
    // The success resolved the interruption alert.
    await waitForRow(dbPath, `select id from alerts where kind = 'interrupted' and resolved_at is not null`);
    second.kill("SIGTERM");
    expect(await second.exited).toBe(0);
    const env = { BACKAPP_REPO: address, BACKAPP_PASSWORD: PASSWORD };
    const check = await runProcess(["check", "--read-data"], { env, timeoutMs: 120_000 });
    expect(check.stdout).toContain("no errors were found");
    expect(check.code).toBe(0);
  }, 240_000);
});
