/**
 * A restore the server was killed during (its row left running) ends failed/interrupted at the
 * next start, with a restore_failed alert for its destination, as a killed backup gets its
 * `interrupted` alert. A real SQLite file and the real JobService start-up.
 */
import { afterEach, describe, expect, it } from "vitest";
import { listOpenAlerts } from "../../src/db/alerts.ts";
import { findLog, insertLog } from "../../src/db/backup-logs.ts";
import { createEventBus } from "../../src/events/bus.ts";
import { INTERRUPTED_REASON } from "../../src/jobs/run-recovery.ts";
import { createJobService } from "../../src/jobs/service.ts";
import { systemClock } from "../../src/util/clock.ts";
import { newId } from "../../src/util/ids.ts";
import { createLogger } from "../../src/util/logger.ts";
import { seededDb } from "../helpers/job-rows.ts";
import { tempDir } from "../helpers/temp.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

describe("a restore interrupted by the server stopping", () => {
  it("ends failed/interrupted at the next start with one restore_failed alert", async () => {
    const { db, user, dest } = seededDb(cleanups);
    const dir = tempDir();
    cleanups.push(dir.cleanup);
    const log = insertLog(db, {
      id: newId(),
      kind: "restore",
      configId: null,
      userId: user.id,
      status: "running",
      trigger: "manual",
      destinationId: dest.id,
      snapshotId: "0123456789abcdef",
      startTime: systemClock.now(),
    });
    const logger = createLogger("silent");
    const service = createJobService({
      db,
      clock: systemClock,
      bus: createEventBus(),
      logger,
      dataDir: dir.path,
    });
    service.start();
    await service.stop({ drainMs: 0 });
    expect(findLog(db, log.id)).toMatchObject({ status: "failed", reason: INTERRUPTED_REASON });
    const alerts = listOpenAlerts(db, { userId: user.id });
    expect(alerts.map((a) => [a.kind, a.type, a.destinationId, a.logId])).toEqual([
      ["restore_failed", "failure", dest.id, log.id],
    ]);
    expect(alerts[0]?.message).toContain("was interrupted: the server stopped during the run");
  });
});
