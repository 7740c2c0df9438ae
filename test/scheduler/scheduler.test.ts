/**
 * The scheduler driven by job rows: a six-field cron every 2 s fires on its times and never
 * overlaps a slow run; at start-up a missed time within the grace period runs once (catch-up),
 * an older one is recorded as missed with an alert. Missed-time decisions use a manual clock.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { listOpenAlerts } from "../../src/db/alerts.ts";
import { findConfigRecord, setLastScheduledAt } from "../../src/db/backup-configs.ts";
import { type BackupLogRow, listLogs } from "../../src/db/backup-logs.ts";
import { setRunSetting } from "../../src/jobs/run-settings.ts";
import { createManualClock } from "../../src/util/clock.ts";
import { build, file } from "../helpers/fs-tree.ts";
import { useJobWorlds } from "../jobs/run-fixture.ts";

const newWorld = useJobWorlds();

const HOUR = 3_600_000;

describe("scheduler", () => {
  it("a six-field cron every 2 s fires on its times and never overlaps a slow run", async () => {
    const w = await newWorld();
    const src = join(w.root, "src");
    build(src, { "a.txt": file("a") });
    const dest = await w.localDestination();
    const job = w.job(dest.id, [src], {
      schedule: { cronExpression: "*/2 * * * * *", timezone: "Europe/Paris" },
      // Longer than the interval: fires during a run are skipped, not stacked.
      hooks: { pre: { command: "sleep 2.5", timeoutSeconds: 30, abortOnFailure: true } },
    });
    w.service.reschedule(job);
    let done: BackupLogRow[] = [];
    for (let i = 0; i < 600 && done.length < 2; i++) {
      await Bun.sleep(100);
      done = listLogs(w.db, { configId: job }).items.filter((r) => r.status === "completed");
    }
    await w.service.stop({ drainMs: 30_000 });
    const runs = listLogs(w.db, { configId: job }).items.reverse();
    expect(runs.filter((r) => r.status === "completed").length).toBeGreaterThanOrEqual(2);
    for (const r of runs) {
      expect(r.trigger).toBe("schedule");
      expect((r.scheduledFor ?? 1) % 2000).toBe(0);
    }
    // Never two at once: each run ended before the next one started.
    for (let i = 1; i < runs.length; i++) {
      const prev = runs[i - 1] as BackupLogRow;
      if (prev.status === "cancelled") continue;
      expect(prev.endTime ?? Number.POSITIVE_INFINITY).toBeLessThanOrEqual(
        (runs[i] as BackupLogRow).startTime,
      );
    }
    // Fires skipped during a run are still handled (so not "missed" at the next start-up).
    const handled = findConfigRecord(w.db, job)?.lastScheduledAt ?? 0;
    expect(handled % 2000).toBe(0);
    expect(handled).toBeGreaterThanOrEqual(runs.at(-1)?.scheduledFor ?? 0);
  }, 180_000);

  it("at start-up a run missed within the grace runs once; an older miss is recorded with an alert", async () => {
    const t0 = Date.parse("2026-03-01T10:00:00Z");
    const clock = createManualClock(t0);
    const w = await newWorld({ clock, start: false });
    const src = join(w.root, "src");
    build(src, { "a.txt": file("a") });
    const dest = await w.localDestination();
    const hourly = { cronExpression: "0 * * * *", timezone: "UTC" };
    const recent = w.job(dest.id, [src], { schedule: hourly, name: "recent" });
    const old = w.job(dest.id, [src], {
      schedule: { cronExpression: "0 6 * * *", timezone: "UTC" },
      name: "old",
    });
    const manual = w.job(dest.id, [src], { name: "manual" });
    setLastScheduledAt(w.db, recent, t0);
    setLastScheduledAt(w.db, old, t0 - 24 * HOUR);
    setRunSetting(w.db, "missedRunGraceMs", HOUR, t0);
    // The server was down from 10:00 to 11:20: "recent" missed 11:00 (20 min ago, within the hour's
    // grace); "old" last ran yesterday and missed today's 06:00 (5 h 20 ago).
    clock.set(t0 + 80 * 60_000);
    w.service.start();

    const [caught] = listLogs(w.db, { configId: recent }).items;
    expect(caught?.trigger).toBe("catch-up");
    expect(caught?.scheduledFor).toBe(Date.parse("2026-03-01T11:00:00Z"));
    expect((await w.finished(caught?.id ?? "")).status).toBe("completed");

    const missed = listLogs(w.db, { configId: old }).items;
    expect(missed.map((r) => [r.status, r.scheduledFor])).toEqual([
      ["missed", Date.parse("2026-03-01T06:00:00Z")],
    ]);
    expect(listOpenAlerts(w.db, { configId: old }).map((a) => a.kind)).toEqual(["missed_schedule"]);
    expect(findConfigRecord(w.db, old)?.lastScheduledAt).toBe(Date.parse("2026-03-01T06:00:00Z"));
    expect(listLogs(w.db, { configId: manual }).items).toEqual([]);
    expect(listOpenAlerts(w.db, { configId: recent })).toEqual([]);
  }, 180_000);

  it("a job rescheduled while the server is up does not count earlier times as missed", async () => {
    const t0 = Date.parse("2026-03-01T10:00:00Z");
    const clock = createManualClock(t0);
    const w = await newWorld({ clock, start: false });
    const dest = await w.localDestination();
    const job = w.job(dest.id, [w.root], { schedule: { cronExpression: "0 * * * *", timezone: "UTC" } });
    clock.set(t0 + 5 * HOUR);
    w.service.reschedule(job);
    expect(findConfigRecord(w.db, job)?.lastScheduledAt).toBe(t0 + 5 * HOUR);
    w.service.start();
    expect(listLogs(w.db, { configId: job }).items).toEqual([]);
    expect(w.service.nextRun(job)).not.toBeNull();
  });
});
