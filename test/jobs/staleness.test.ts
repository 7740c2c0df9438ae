/**
 * `no_recent_success` with a manual clock and real rows: raised once a job's last success (or
 * its creation) is older than its threshold (2× the schedule's gap, or alertAfterHours), never
 * duplicated by later checks, resolved by a real successful run, raised anew when it recurs.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { listOpenAlerts } from "../../src/db/alerts.ts";
import { staleThresholdMs } from "../../src/jobs/staleness.ts";
import { createManualClock } from "../../src/util/clock.ts";
import { build, file } from "../helpers/fs-tree.ts";
import { jobInput, useJobWorlds } from "./run-fixture.ts";

const world = useJobWorlds();
const T0 = Date.parse("2026-12-01T00:00:00Z");
const HOUR = 3_600_000;

const stale = (w: Awaited<ReturnType<typeof world>>, configId: string) =>
  listOpenAlerts(w.db, { configId }).filter((a) => a.kind === "no_recent_success");

describe("no_recent_success", () => {
  it("is raised past the threshold once, resolved by a success, raised anew later", async () => {
    const clock = createManualClock(T0);
    const w = await world({ clock });
    const src = join(w.root, "src");
    build(src, { "a.txt": file("a") });
    const dest = await w.localDestination();
    const hourly = w.job(dest.id, [src], { schedule: { cronExpression: "0 * * * *", timezone: "UTC" } });
    const manual = w.job(dest.id, [src], {
      options: { ...jobInput(dest.id, [src]).options, alertAfterHours: 24 },
    });
    const off = w.job(dest.id, [src], {
      enabled: false,
      schedule: { cronExpression: "0 * * * *", timezone: "UTC" },
    });

    clock.set(T0 + 2 * HOUR);
    w.service.checkStaleJobs();
    expect(stale(w, hourly)).toEqual([]);

    clock.set(T0 + 2 * HOUR + 60_000);
    w.service.checkStaleJobs();
    clock.set(T0 + 3 * HOUR);
    w.service.checkStaleJobs();
    const [alert] = stale(w, hourly);
    expect(stale(w, hourly)).toHaveLength(1);
    expect(alert).toMatchObject({ type: "failure", occurrences: 1, timestamp: T0 + 2 * HOUR + 60_000 });
    expect(alert?.message).toMatch(
      /no successful backup since it was created for 2 h 1 min \(alert after 2 h\)/,
    );
    expect(stale(w, manual)).toEqual([]);
    expect(stale(w, off)).toEqual([]);

    const { logId } = await w.service.runNow(hourly, null);
    expect((await w.finished(logId)).status).toBe("completed");
    expect(stale(w, hourly)).toEqual([]);
    w.service.checkStaleJobs();
    expect(stale(w, hourly)).toEqual([]);

    clock.set(T0 + 25 * HOUR);
    w.service.checkStaleJobs();
    expect(stale(w, hourly)[0]?.message).toMatch(/has had no successful backup for 22 h/);
    expect(stale(w, hourly)[0]?.id).not.toBe(alert?.id);
    expect(stale(w, manual)[0]?.message).toMatch(/alert after 1 d\)/);
  });

  it("judges an irregular schedule by its longest gap (weekdays: the weekend)", () => {
    const config = {
      enabled: true,
      options: { alertAfterHours: null },
      schedule: { cronExpression: "0 2 * * 1-5", timezone: "UTC" },
    };
    expect(staleThresholdMs(config as never, T0)).toBe(2 * 3 * 24 * HOUR);
    expect(
      staleThresholdMs({ ...config, schedule: { cronExpression: "", timezone: "UTC" } } as never, T0),
    ).toBeNull();
  });
});
