/** Schedules: validation, next runs in the job's zone across DST changes, presets, words. */
import { describe, expect, it } from "vitest";
import {
  describeSchedule,
  isTimeZone,
  nextRunTimes,
  normalizeCron,
  presetOf,
  scheduleProblems,
} from "../../src/scheduler/cron.ts";

const iso = (dates: Date[]) => dates.map((d) => d.toISOString());

describe("scheduleProblems", () => {
  it("accepts 5 fields, 6 with seconds first, and an empty (manual) expression", () => {
    expect(scheduleProblems({ cronExpression: "0 2 * * *", timezone: "Europe/Paris" })).toEqual({});
    expect(scheduleProblems({ cronExpression: "*/5 * * * * *", timezone: "UTC" })).toEqual({});
    expect(scheduleProblems({ cronExpression: "", timezone: "UTC" })).toEqual({});
  });

  it("names the field at fault", () => {
    expect(scheduleProblems({ cronExpression: "61 * * * *", timezone: "UTC" })).toEqual({
      cronExpression: "Not a valid cron expression: Invalid value for minute: 61",
    });
    expect(scheduleProblems({ cronExpression: "* * * *", timezone: "UTC" }).cronExpression).toMatch(/has 4/);
    expect(scheduleProblems({ cronExpression: "0 0 0 * * * *", timezone: "UTC" }).cronExpression).toMatch(
      /has 7/,
    );
    expect(scheduleProblems({ cronExpression: "0 0 31 2 *", timezone: "UTC" })).toEqual({
      cronExpression: "This schedule never runs.",
    });
    expect(Object.keys(scheduleProblems({ cronExpression: "0 2 * * *", timezone: "Mars/Olympus" }))).toEqual([
      "timezone",
    ]);
    expect(Object.keys(scheduleProblems({ cronExpression: "nope", timezone: "" })).sort()).toEqual([
      "cronExpression",
      "timezone",
    ]);
  });

  it("knows IANA zones", () => {
    expect(isTimeZone("America/New_York")).toBe(true);
    expect(isTimeZone("UTC")).toBe(true);
    expect(isTimeZone("Europe/Nowhere")).toBe(false);
    expect(isTimeZone(" UTC")).toBe(false);
  });
});

describe("nextRunTimes", () => {
  it("runs a daily job at its wall-clock time through the spring change in Europe/Paris", () => {
    // 29 March 2026: 02:00 → 03:00 local. 02:30 does not exist that day: it runs at 03:00 (the first valid time).
    const runs = nextRunTimes(
      { cronExpression: "30 2 * * *", timezone: "Europe/Paris" },
      4,
      new Date("2026-03-27T12:00:00Z"),
    );
    expect(iso(runs)).toEqual([
      "2026-03-28T01:30:00.000Z", // 02:30 CET (+01)
      "2026-03-29T01:00:00.000Z", // 03:00 CEST, the gap's end
      "2026-03-30T00:30:00.000Z", // 02:30 CEST (+02)
      "2026-03-31T00:30:00.000Z",
    ]);
  });

  it("runs a daily job once in the repeated hour of the autumn change in America/New_York", () => {
    // 1 November 2026: 02:00 EDT → 01:00 EST, so 01:30 happens twice; the job runs once.
    const runs = nextRunTimes(
      { cronExpression: "30 1 * * *", timezone: "America/New_York" },
      4,
      new Date("2026-10-30T12:00:00Z"),
    );
    expect(iso(runs)).toEqual([
      "2026-10-31T05:30:00.000Z", // 01:30 EDT (-4)
      "2026-11-01T05:30:00.000Z", // 01:30 EDT, the first of the two
      "2026-11-02T06:30:00.000Z", // 01:30 EST (-5)
      "2026-11-03T06:30:00.000Z",
    ]);
  });

  it("keeps an hourly job hourly in real time across the autumn change in Europe/Paris", () => {
    const runs = nextRunTimes(
      { cronExpression: "0 * * * *", timezone: "Europe/Paris" },
      4,
      new Date("2026-10-25T00:10:00Z"),
    );
    expect(iso(runs)).toEqual([
      "2026-10-25T01:00:00.000Z",
      "2026-10-25T02:00:00.000Z",
      "2026-10-25T03:00:00.000Z",
      "2026-10-25T04:00:00.000Z",
    ]);
  });

  it("handles a week with the spring change in America/New_York for a weekly job", () => {
    // 8 March 2026 (a Sunday): 02:00 → 03:00 EST→EDT.
    const runs = nextRunTimes(
      { cronExpression: "0 9 * * 1", timezone: "America/New_York" },
      2,
      new Date("2026-03-01T00:00:00Z"),
    );
    expect(iso(runs)).toEqual(["2026-03-02T14:00:00.000Z", "2026-03-09T13:00:00.000Z"]);
  });

  it("counts seconds in a six-field expression and answers [] for manual or invalid schedules", () => {
    const from = new Date("2026-01-01T00:00:01Z");
    expect(iso(nextRunTimes({ cronExpression: "*/5 * * * * *", timezone: "UTC" }, 3, from))).toEqual([
      "2026-01-01T00:00:05.000Z",
      "2026-01-01T00:00:10.000Z",
      "2026-01-01T00:00:15.000Z",
    ]);
    expect(nextRunTimes({ cronExpression: "", timezone: "UTC" }, 5, from)).toEqual([]);
    expect(nextRunTimes({ cronExpression: "0 2 * * *", timezone: "Nowhere/X" }, 5, from)).toEqual([]);
  });
});

describe("presets and words", () => {
  it("maps presets and nicknames to fields", () => {
    expect(normalizeCron("daily")).toBe("0 2 * * *");
    expect(normalizeCron(" Hourly ")).toBe("0 * * * *");
    expect(normalizeCron("weekly")).toBe("0 2 * * 0");
    expect(normalizeCron("@daily")).toBe("0 0 * * *");
    expect(normalizeCron("  0   3 * *  * ")).toBe("0 3 * * *");
    expect(presetOf("0 2 * * *")).toBe("daily");
    expect(presetOf("0 3 * * *")).toBeNull();
  });

  it("says the schedule in words with its zone", () => {
    const say = (cronExpression: string, timezone = "UTC") => describeSchedule({ cronExpression, timezone });
    expect(say("0 2 * * *", "Europe/Paris")).toBe("every day at 02:00 (Europe/Paris)");
    expect(say("")).toBe("manual only");
    expect(say("0 * * * *")).toBe("every hour at minute 0 (UTC)");
    expect(say("*/15 * * * *")).toBe("every 15 minutes (UTC)");
    expect(say("30 4 * * 1")).toBe("every Monday at 04:30 (UTC)");
    expect(say("30 4 * * 1-5")).toBe("every Monday to Friday at 04:30 (UTC)");
    expect(say("30 4 * * 1,3,5")).toBe("every Monday, Wednesday and Friday at 04:30 (UTC)");
    expect(say("0 3 1 * *")).toBe("on day 1 of every month at 03:00 (UTC)");
    expect(say("0 0 */6 * * *")).toBe("every 6 hours at minute 0 (UTC)");
    expect(say("*/10 * * * * *")).toBe("every 10 seconds (UTC)");
    expect(say("0 3 1-7 * 1")).toBe("cron 0 3 1-7 * 1 (UTC)");
  });
});
