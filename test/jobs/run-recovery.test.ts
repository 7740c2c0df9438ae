/**
 * Start-up recovery over every kind of run a killed server can leave behind: queued or running
 * backups, restores, repository checks and restore drills all end failed/interrupted with an
 * alert that names what was cut short (one per problem: a restore's and a check's on the same
 * destination stay apart); rows that had ended are left alone.
 */
import { describe, expect, it } from "vitest";
import { findLog, insertLog } from "../../src/db/backup-logs.ts";
import { alerts } from "../../src/db/schema.ts";
import { INTERRUPTED_REASON } from "../../src/jobs/run-recovery.ts";
import { newId } from "../../src/util/ids.ts";
import { type JobWorld, useJobWorlds } from "./run-fixture.ts";

const world = useJobWorlds();

function row(w: JobWorld, values: Partial<Parameters<typeof insertLog>[1]>) {
  return insertLog(w.db, {
    id: newId(),
    userId: w.userId,
    status: "running",
    trigger: "manual",
    startTime: Date.now() - 60_000,
    ...values,
  });
}

describe("start-up recovery", () => {
  it("ends every kind of run left queued or running as interrupted, each with an alert naming it", async () => {
    const w = await world({ start: false });
    const dest = await w.localDestination("nas");
    const job = w.job(dest.id, ["/nowhere"], { name: "photos" });
    const snapshotId = "ab".repeat(32);
    const runs = {
      backup: row(w, { configId: job, destinationId: dest.id }),
      queued: row(w, { configId: job, destinationId: dest.id, status: "queued" }),
      restore: row(w, { kind: "restore", destinationId: dest.id, snapshotId }),
      check: row(w, { kind: "check", destinationId: dest.id }),
      drill: row(w, { kind: "drill", configId: job, destinationId: dest.id }),
      done: row(w, { configId: job, destinationId: dest.id, status: "completed", endTime: Date.now() }),
    };
    w.service.start();

    for (const key of ["backup", "queued", "restore", "check", "drill"] as const) {
      const log = findLog(w.db, runs[key].id)!;
      expect(log, key).toMatchObject({ status: "failed", reason: INTERRUPTED_REASON });
      expect(log.endTime, key).not.toBeNull();
    }
    expect(findLog(w.db, runs.done.id)).toMatchObject({ status: "completed", reason: null });
    const messages = w.db
      .select()
      .from(alerts)
      .all()
      .map((a) => ({ kind: a.kind, message: a.message, config: a.configId, destination: a.destinationId }));
    const suffix = "was interrupted: the server stopped during the run";
    expect(messages).toEqual(
      expect.arrayContaining([
        {
          kind: "interrupted",
          // The queued run of the same job repeated the job's open alert (one row per problem).
          message: `Backup "photos" ${suffix}; no snapshot was written, the next run backs up again`,
          config: job,
          destination: null,
        },
        {
          kind: "restore_failed",
          message: `Restore of snapshot abababab from "nas" ${suffix}; the files restored so far are complete, start the restore again for the rest`,
          config: null,
          destination: dest.id,
        },
        // A verification's is the check_failed its next successful run resolves.
        {
          kind: "check_failed",
          message: `Repository check of "nas" ${suffix}`,
          config: null,
          destination: dest.id,
        },
        {
          kind: "check_failed",
          message: `Restore drill of "photos" ${suffix}`,
          config: job,
          destination: dest.id,
        },
      ]),
    );
    expect(messages).toHaveLength(4);
    expect(w.logs.some((l) => l.msg === "runs interrupted by a stop marked failed" && l.runs === 5)).toBe(
      true,
    );
  });
});
