/**
 * Scheduled checks and drills with a manual clock and real runs: nothing is due before the
 * period (counted from creation), both are queued (trigger "schedule") and pass once it is over,
 * a sweep right after queues nothing, and a period of 0 turns a schedule off.
 */
import { join } from "node:path";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { backupLogs } from "../../src/db/schema.ts";
import { createVerificationService } from "../../src/jobs/verification.ts";
import { setVerifySetting } from "../../src/jobs/verify-settings.ts";
import { createManualClock } from "../../src/util/clock.ts";
import { createLogger } from "../../src/util/logger.ts";
import { build, file } from "../helpers/fs-tree.ts";
import { useJobWorlds } from "./run-fixture.ts";

const world = useJobWorlds();
const T0 = Date.parse("2026-12-01T00:00:00Z");
const DAY = 86_400_000;

describe("verification schedule", () => {
  it("queues a monthly check per destination and a drill per job when due", async () => {
    const clock = createManualClock(T0);
    const w = await world({ clock });
    const src = join(w.root, "src");
    build(src, { "a.txt": file("alpha"), "b.txt": file("beta ".repeat(100)) });
    const dest = await w.localDestination();
    const job = w.job(dest.id, [src]);
    const { logId } = await w.service.runNow(job, null);
    expect((await w.finished(logId)).status).toBe("completed");
    const verify = createVerificationService({
      db: w.db,
      clock,
      bus: w.bus,
      logger: createLogger("warn", { write: () => {} }),
      dataDir: w.dataDir,
      jobs: w.service,
    });
    const rows = (kind: "check" | "drill") =>
      w.db
        .select()
        .from(backupLogs)
        .where(and(eq(backupLogs.kind, kind), eq(backupLogs.trigger, "schedule")))
        .all();

    clock.set(T0 + 29 * DAY);
    verify.sweep();
    expect(rows("check")).toEqual([]);
    expect(rows("drill")).toEqual([]);

    clock.set(T0 + 30 * DAY + 1);
    verify.sweep();
    const [check] = rows("check");
    const [drill] = rows("drill");
    expect(check).toMatchObject({ destinationId: dest.id, configId: null });
    expect(drill).toMatchObject({ destinationId: dest.id, configId: job });
    expect((await w.finished(check?.id ?? "")).status).toBe("completed");
    expect((await w.finished(drill?.id ?? "")).status).toBe("completed");
    verify.sweep();
    expect(rows("check")).toHaveLength(1);
    expect(rows("drill")).toHaveLength(1);

    setVerifySetting(w.db, "drillEveryDays", 0, clock.now());
    clock.set(T0 + 61 * DAY);
    verify.sweep();
    expect(rows("check")).toHaveLength(2);
    expect(rows("drill")).toHaveLength(1);
    await w.finished(rows("check")[1]?.id ?? "");
  });
});
