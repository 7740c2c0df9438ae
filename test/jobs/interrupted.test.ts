/**
 * A real server process (`bun src/main.ts serve`) killed with SIGKILL in the middle of a run:
 * after a restart the run's row is failed/interrupted with an alert, and the next run completes.
 */
import { Database } from "bun:sqlite";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { insertConfigRecord, replaceConfigRecord } from "../../src/db/backup-configs.ts";
import { openDatabase } from "../../src/db/client.ts";
import { insertDestination } from "../../src/db/destinations.ts";
import { initSpecRepository } from "../../src/jobs/repository-access.ts";
import { newId } from "../../src/util/ids.ts";
import { Secret } from "../../src/util/secret.ts";
import { bunPath, mainPath } from "../helpers/cli.ts";
import { build, file } from "../helpers/fs-tree.ts";
import { seedUser } from "../helpers/job-rows.ts";
import { tempDir } from "../helpers/temp.ts";
import { jobInput, PASSWORD } from "./run-fixture.ts";

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
  const proc = Bun.spawn([bunPath, mainPath, "serve", "--data-dir", dataDir, "--listen", "127.0.0.1:0"], {
    stdout: "pipe",
    stderr: "inherit",
  });
  procs.push(proc);
  const reader = proc.stdout.getReader();
  let text = "";
  while (!text.includes("backapp listening")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`server exited: ${text}`);
    text += new TextDecoder().decode(value);
  }
  void (async () => {
    while (!(await reader.read()).done) {}
  })();
  return proc;
}

/** Polls the database (read-only, beside the server) until `query` returns a row. */
async function waitForRow<T>(dbPath: string, query: string, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const db = new Database(dbPath, { readonly: true });
    try {
      const row = db.query(query).get() as T | null;
      if (row) return row;
    } catch {
      // The server may be migrating or checkpointing: try again.
    } finally {
      db.close();
    }
    await Bun.sleep(200);
  }
  throw new Error(`no row for ${query}`);
}

describe("a server killed mid-run", () => {
  it("leaves the run failed/interrupted with an alert after restart, and the next run completes", async () => {
    const dir = tempDir("backapp-kill-");
    dirs.push(dir);
    const dataDir = join(dir.path, "data");
    const src = join(dir.path, "src");
    build(src, { "big.bin": file(randomBytes(4 * 1024 * 1024)) });
    const address = join(dir.path, "repo");
    const spec = { address, s3: {}, password: PASSWORD };
    const repo = await initSpecRepository(spec, { scrypt: { N: 1024, r: 8, p: 1 } });
    const repositoryId = repo.id;
    await repo.close();
    const database = openDatabase(dataDir);
    const user = seedUser(database.db, undefined, "admin");
    const destinationId = newId();
    insertDestination(database.db, dataDir, {
      id: destinationId,
      userId: user.id,
      name: "disk",
      settings: { kind: "local", path: address, encrypted: true },
      secrets: { password: new Secret(PASSWORD), secretAccessKey: null },
      repositoryId,
      now: Date.now(),
    });
    const jobId = newId();
    const slow = jobInput(destinationId, [src], {
      schedule: { cronExpression: "*/2 * * * * *", timezone: "UTC" },
    });
    slow.options.bandwidth = 32; // KiB/s: minutes for 4 MiB, so the kill lands mid-run
    insertConfigRecord(database.db, jobId, user.id, slow, Date.now());
    database.close();

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
