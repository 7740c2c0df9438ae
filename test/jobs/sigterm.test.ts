/**
 * A server stopped the way a service manager stops it (SIGTERM to the process a unit starts:
 * `serve --data-dir D`) in the middle of a backup: the run is cancelled cleanly and marked so, the
 * process exits 0 within the grace period, the repository keeps no lock, and a new server on the
 * same data dir starts and runs the job to completion.
 */
import { existsSync, readdirSync } from "node:fs";
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

describe("a server stopped with SIGTERM mid-backup", () => {
  it("cancels the run cleanly, exits 0, leaves no lock, and the next server completes the job", async () => {
    const dir = tempDir("backapp-term-");
    dirs.push(dir);
    const { dataDir, src, address, destinationId, jobId, slow } = await seedSlowLocalJob(dir.path);
    const dbPath = join(dataDir, "backapp.db");
    const first = await spawnServer(dataDir);
    procs.push(first);
    const running = await waitForRow<{ id: string }>(
      dbPath,
      `select id from backup_logs where config_id = '${jobId}' and status = 'running'`,
    );
    // The run holds a repository lock (locks/<id>) while it uploads: 4 MiB at 32 KiB/s takes minutes.
    const locks = join(address, "locks");
    const heldLocks = () => (existsSync(locks) ? readdirSync(locks) : []);
    for (let i = 0; i < 300 && heldLocks().length === 0; i++) await Bun.sleep(100);
    expect(heldLocks().length).toBe(1);
    const stoppedAt = Date.now();
    first.kill("SIGTERM");
    expect(await first.exited).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(30_000); // systemd's TimeoutStopSec default is 90 s

    const db = openDatabase(dataDir);
    const row = db.sqlite.query("select status, snapshot_id from backup_logs where id = ?").get(running.id);
    expect(row).toEqual({ status: "cancelled", snapshot_id: null });
    expect(heldLocks()).toEqual([]);
    replaceConfigRecord(
      db.db,
      jobId,
      jobInput(destinationId, [src], { schedule: slow.schedule }),
      Date.now(),
    );
    db.close();

    const second = await spawnServer(dataDir);
    procs.push(second);
    const done = await waitForRow<{ snapshot_id: string }>(
      dbPath,
      `select snapshot_id from backup_logs where config_id = '${jobId}' and status = 'completed'`,
    );
    expect(done.snapshot_id).toMatch(/^[0-9a-f]{64}$/);
    second.kill("SIGTERM");
    expect(await second.exited).toBe(0);
  }, 240_000);
});
