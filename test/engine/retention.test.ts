import { describe, expect, it } from "vitest";
import {
  applyRetention,
  formatDuration,
  hasKeepRule,
  isoWeek,
  parseDuration,
  type RetentionPolicy,
  type RetentionSnapshot,
  retentionFromConfig,
  withinCutoff,
} from "../../src/engine/retention.ts";
import { ValidationError } from "../../src/util/errors.ts";

let seq = 0;
function snap(time: string, extra: Partial<RetentionSnapshot> = {}): RetentionSnapshot {
  seq++;
  return {
    id: extra.id ?? seq.toString(16).padStart(64, "0"),
    time: new Date(time).toISOString(),
    hostname: extra.hostname ?? "h",
    paths: extra.paths ?? ["/data"],
    tags: extra.tags ?? [],
  };
}

function keptTimes(snaps: RetentionSnapshot[], policy: RetentionPolicy, timeZone = "UTC"): string[] {
  return applyRetention(snaps, policy, { timeZone }).keep.map((k) => k.snapshot.time);
}

const iso = (t: string) => new Date(t).toISOString();

describe("applyRetention basics", () => {
  it("returns nothing for no snapshots", () => {
    const r = applyRetention([], { keepLast: 3 }, { timeZone: "UTC" });
    expect(r).toEqual({ groups: [], keep: [], remove: [] });
  });

  it("refuses a policy without any keep rule", () => {
    for (const p of [{}, { keepLast: 0, keepDaily: 0 }, { keepWithin: "0d" }, { keepTags: [] }]) {
      expect(() => applyRetention([snap("2024-01-01")], p, { timeZone: "UTC" })).toThrow(ValidationError);
    }
  });

  it("tells whether a policy has a rule", () => {
    expect(hasKeepRule({ keepDaily: 1 })).toBe(true);
    expect(hasKeepRule({ keepDaily: 0, keepTags: [] })).toBe(false);
    expect(hasKeepRule({ keepTags: [""] })).toBe(true); // keeps untagged snapshots
  });

  it("rejects negative or fractional counts, bad zones and bad durations", () => {
    const s = [snap("2024-01-01")];
    expect(() => applyRetention(s, { keepLast: -1 })).toThrow(ValidationError);
    expect(() => applyRetention(s, { keepDaily: 1.5 })).toThrow(ValidationError);
    expect(() => applyRetention(s, { keepLast: 1 }, { timeZone: "Mars/Olympus" })).toThrow(ValidationError);
    expect(() => applyRetention(s, { keepWithin: "3w" })).toThrow(ValidationError);
    expect(() => applyRetention([{ ...s[0]!, time: "yesterday" }], { keepLast: 1 })).toThrow(ValidationError);
  });

  it("keeps the N newest for keep-last, all when N exceeds the count", () => {
    const s = ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"].map((t) => snap(t));
    expect(keptTimes(s, { keepLast: 3 })).toEqual(["2024-01-05", "2024-01-04", "2024-01-03"].map(iso));
    const all = applyRetention(s, { keepLast: 50 }, { timeZone: "UTC" });
    expect(all.keep).toHaveLength(5);
    expect(all.remove).toHaveLength(0);
    expect(all.keep.every((k) => k.reasons.join() === "last")).toBe(true);
  });

  it("supports unlimited counts", () => {
    const s = ["2023-12-31T12:00Z", "2024-01-01T01:00Z", "2024-01-01T02:00Z", "2024-01-02T01:00Z"].map((t) =>
      snap(t),
    );
    expect(keptTimes(s, { keepDaily: Number.POSITIVE_INFINITY })).toEqual(
      ["2024-01-02T01:00Z", "2024-01-01T02:00Z", "2023-12-31T12:00Z"].map(iso),
    );
  });

  it("counts only periods that have snapshots", () => {
    const s = ["2024-01-01", "2024-01-05", "2024-01-09", "2024-01-10"].map((t) => snap(`${t}T12:00Z`));
    expect(keptTimes(s, { keepDaily: 3 })).toEqual(
      ["2024-01-10T12:00Z", "2024-01-09T12:00Z", "2024-01-05T12:00Z"].map(iso),
    );
  });

  it("keeps a snapshot once with every reason that keeps it", () => {
    const s = [snap("2024-01-01T10:00Z", { tags: ["gold"] }), snap("2024-01-02T10:00Z")];
    const r = applyRetention(s, { keepLast: 1, keepDaily: 5, keepTags: ["gold"] }, { timeZone: "UTC" });
    expect(r.keep.map((k) => k.reasons)).toEqual([
      ["last", "daily 2024-01-02"],
      ["daily 2024-01-01", "tag gold"],
    ]);
  });

  it("orders equal times by id, independent of input order", () => {
    const a = snap("2024-05-05T05:05Z", { id: "a".repeat(64) });
    const b = snap("2024-05-05T05:05Z", { id: "b".repeat(64) });
    const c = snap("2024-05-05T05:05Z", { id: "c".repeat(64) });
    for (const input of [
      [a, b, c],
      [c, a, b],
      [b, c, a],
    ]) {
      const r = applyRetention(input, { keepLast: 1 }, { timeZone: "UTC" });
      expect(r.keep.map((k) => k.snapshot.id)).toEqual([c.id]);
      expect(r.remove.map((s) => s.id)).toEqual([b.id, a.id]);
      const d = applyRetention(input, { keepDaily: 1 }, { timeZone: "UTC" });
      expect(d.keep.map((k) => k.snapshot.id)).toEqual([c.id]);
      // Days left over keep nothing more: only the newest of the day stays.
      const o = applyRetention(input, { keepDaily: 3 }, { timeZone: "UTC" });
      expect(o.keep.map((k) => [k.snapshot.id, k.reasons])).toEqual([[c.id, ["daily 2024-05-05"]]]);
    }
  });

  it("partitions the input: every snapshot is kept or removed exactly once", () => {
    const s = Array.from({ length: 300 }, (_, i) =>
      snap(new Date(Date.UTC(2023, 0, 1) + i * 7_919_000).toISOString()),
    );
    const r = applyRetention(
      s,
      { keepHourly: 10, keepDaily: 7, keepWeekly: 4, keepMonthly: 2 },
      { timeZone: "Asia/Kolkata" },
    );
    const ids = [...r.keep.map((k) => k.snapshot.id), ...r.remove.map((x) => x.id)].sort();
    expect(ids).toEqual(s.map((x) => x.id).sort());
  });
});

describe("calendar buckets", () => {
  it.each([
    // [dates, zone, policy, expected kept]
    [
      "a day boundary depends on the zone (UTC)",
      ["2024-03-01T12:00Z", "2024-03-09T03:30Z", "2024-03-09T05:30Z"],
      "UTC",
      { keepDaily: 5 },
      ["2024-03-09T05:30Z", "2024-03-01T12:00Z"],
    ],
    [
      "a day boundary depends on the zone (New York: two days)",
      ["2024-03-09T03:30Z", "2024-03-09T05:30Z"],
      "America/New_York",
      { keepDaily: 5 },
      ["2024-03-09T05:30Z", "2024-03-09T03:30Z"],
    ],
    [
      "DST fall-back: the repeated 01:00 hour is one hourly bucket",
      ["2024-11-03T03:30Z", "2024-11-03T05:30Z", "2024-11-03T06:30Z"],
      "America/New_York",
      { keepHourly: 5 },
      ["2024-11-03T06:30Z", "2024-11-03T03:30Z"],
    ],
    [
      "the same instants are two hourly buckets in UTC",
      ["2024-11-03T05:30Z", "2024-11-03T06:30Z"],
      "UTC",
      { keepHourly: 5 },
      ["2024-11-03T06:30Z", "2024-11-03T05:30Z"],
    ],
    [
      "DST fall-back: the 25-hour day is one daily bucket",
      ["2024-11-02T12:00Z", "2024-11-03T04:01Z", "2024-11-04T04:59Z"],
      "America/New_York",
      { keepDaily: 5 },
      ["2024-11-04T04:59Z", "2024-11-02T12:00Z"],
    ],
    [
      "DST spring-forward: the 23-hour day is one daily bucket, midnight splits days",
      ["2024-03-10T04:59Z", "2024-03-10T05:00Z", "2024-03-11T03:59Z"],
      "America/New_York",
      { keepDaily: 5 },
      ["2024-03-11T03:59Z", "2024-03-10T04:59Z"],
    ],
    [
      "Europe: 31 Jan 23:30 UTC is already February in Berlin",
      ["2024-01-31T22:30Z", "2024-01-31T23:30Z", "2024-02-15T12:00Z"],
      "Europe/Berlin",
      { keepMonthly: 5 },
      ["2024-02-15T12:00Z", "2024-01-31T22:30Z"],
    ],
    [
      "month ends: 31st and 1st are different months",
      ["2024-01-31T12:00Z", "2024-02-01T12:00Z", "2024-02-29T12:00Z", "2024-03-01T00:00Z"],
      "UTC",
      { keepMonthly: 10 },
      ["2024-03-01T00:00Z", "2024-02-29T12:00Z", "2024-01-31T12:00Z"],
    ],
    [
      "leap day is its own daily bucket",
      ["2024-02-28T23:00Z", "2024-02-29T00:00Z", "2024-02-29T23:59Z", "2024-03-01T00:00Z"],
      "UTC",
      { keepDaily: 10 },
      ["2024-03-01T00:00Z", "2024-02-29T23:59Z", "2024-02-28T23:00Z"],
    ],
    [
      "ISO week 53: 31 Dec 2020 and 3 Jan 2021 share week 2020-W53",
      ["2020-12-27T12:00Z", "2020-12-31T12:00Z", "2021-01-03T12:00Z", "2021-01-04T12:00Z"],
      "UTC",
      { keepWeekly: 10 },
      ["2021-01-04T12:00Z", "2021-01-03T12:00Z", "2020-12-27T12:00Z"],
    ],
    [
      "ISO week 1 of 2025 starts on 30 Dec 2024",
      ["2024-12-29T12:00Z", "2024-12-30T12:00Z", "2025-01-05T12:00Z"],
      "UTC",
      { keepWeekly: 10 },
      ["2025-01-05T12:00Z", "2024-12-29T12:00Z"],
    ],
    [
      "yearly keeps the newest of each year, New Year in Tokyo comes early",
      [
        "2022-06-01T00:00Z",
        "2023-06-01T00:00Z",
        "2023-12-31T14:00Z",
        "2023-12-31T16:00Z",
        "2024-03-01T00:00Z",
      ],
      "Asia/Tokyo",
      { keepYearly: 3 },
      ["2024-03-01T00:00Z", "2023-12-31T14:00Z", "2022-06-01T00:00Z"],
    ],
    [
      "half-hour zones: hourly buckets follow the local wall clock",
      ["2024-01-01T00:10Z", "2024-01-01T00:40Z"],
      "Asia/Kolkata",
      { keepHourly: 5 },
      ["2024-01-01T00:40Z", "2024-01-01T00:10Z"],
    ],
  ] as [string, string[], string, RetentionPolicy, string[]][])(
    "%s",
    (_name, times, zone, policy, expected) => {
      expect(
        keptTimes(
          times.map((t) => snap(t)),
          policy,
          zone,
        ),
      ).toEqual(expected.map(iso));
    },
  );

  it.each([
    [2020, 12, 31, 2020, 53],
    [2021, 1, 3, 2020, 53],
    [2021, 1, 4, 2021, 1],
    [2024, 12, 30, 2025, 1],
    [2026, 12, 31, 2026, 53],
    [2027, 1, 1, 2026, 53],
    [2015, 12, 31, 2015, 53],
    [2024, 2, 29, 2024, 9],
    [2023, 1, 1, 2022, 52],
  ])("isoWeek(%i-%i-%i) = %i-W%i", (y, m, d, wy, w) => {
    expect(isoWeek(y, m, d)).toEqual({ year: wy, week: w });
  });

  it("agrees with a brute-force oracle for keep-daily in several zones", () => {
    let x = 12345;
    const rnd = () => {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      return x / 2 ** 31;
    };
    for (const zone of [
      "UTC",
      "America/New_York",
      "Europe/London",
      "Australia/Lord_Howe",
      "Asia/Kathmandu",
    ]) {
      const s = Array.from({ length: 200 }, () =>
        snap(new Date(Date.UTC(2023, 9, 1) + Math.floor(rnd() * 200 * 86_400_000)).toISOString()),
      );
      const day = (t: string) => new Date(t).toLocaleDateString("en-CA", { timeZone: zone });
      const newestPerDay = new Map<string, RetentionSnapshot>();
      for (const v of [...s].sort((a, b) => b.time.localeCompare(a.time) || b.id.localeCompare(a.id))) {
        if (!newestPerDay.has(day(v.time))) newestPerDay.set(day(v.time), v);
      }
      const expected = [...newestPerDay.values()].slice(0, 30).map((v) => v.id);
      const got = applyRetention(s, { keepDaily: 30 }, { timeZone: zone }).keep.map((k) => k.snapshot.id);
      expect(got).toEqual(expected);
    }
  });
});

describe("only the newest of each period (no extra oldest snapshot, unlike restic ≥ 0.16)", () => {
  const day = (d: number, h = 12) =>
    `2024-01-${String(d).padStart(2, "0")}T${String(h).padStart(2, "0")}:00Z`;
  it.each([
    [
      "is not kept while a rule has periods left",
      [day(1, 8), day(1, 20), day(2)],
      { keepDaily: 7 },
      [
        [day(2), ["daily 2024-01-02"]],
        [day(1, 20), ["daily 2024-01-01"]],
      ],
    ],
    [
      "is not kept once the counts are used up",
      [day(1, 8), day(1, 20), day(2)],
      { keepDaily: 2 },
      [
        [day(2), ["daily 2024-01-02"]],
        [day(1, 20), ["daily 2024-01-01"]],
      ],
    ],
    [
      "is not kept by unlimited counts",
      [day(1, 8), day(1, 20)],
      { keepDaily: Number.POSITIVE_INFINITY },
      [[day(1, 20), ["daily 2024-01-01"]]],
    ],
    [
      "is not kept by a second rule with periods left",
      [day(1, 8), day(1, 20)],
      { keepDaily: 1, keepMonthly: 2 },
      [[day(1, 20), ["daily 2024-01-01", "monthly 2024-01"]]],
    ],
    [
      "is never added by keep-last",
      [day(1), day(2), day(3)],
      { keepLast: 2 },
      [
        [day(3), ["last"]],
        [day(2), ["last"]],
      ],
    ],
    [
      "keeps one per week, however many days are in it",
      [day(1, 8), day(1, 20)],
      { keepWeekly: 1 },
      [[day(1, 20), ["weekly 2024-W01"]]],
    ],
  ] as [string, string[], RetentionPolicy, [string, string[]][]][])(
    "%s",
    (_name, times, policy, expected) => {
      const r = applyRetention(
        times.map((t) => snap(t)),
        policy,
        { timeZone: "UTC" },
      );
      expect(r.keep.map((k) => [k.snapshot.time, k.reasons])).toEqual(
        expected.map(([t, why]) => [iso(t), why]),
      );
    },
  );
});

/**
 * restic's ApplyPolicy (internal/restic/snapshot_policy.go, 0.14: no "oldest" rule, with the
 * future-snapshot anchor of later versions for keep-within) transcribed; bucket labels from Intl.
 */
function resticOracle(snaps: RetentionSnapshot[], p: RetentionPolicy, zone: string, now: number): string[] {
  const list = [...snaps].sort((a, b) => Date.parse(b.time) - Date.parse(a.time) || b.id.localeCompare(a.id));
  const parts = (t: string) => {
    const f = new Intl.DateTimeFormat("sv-SE", {
      timeZone: zone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      hourCycle: "h23",
    });
    return f.format(new Date(t)); // "2024-01-05 13"
  };
  const week = (t: string) => {
    const [y, m, d] = parts(t).slice(0, 10).split("-").map(Number) as [number, number, number];
    const w = isoWeek(y, m, d);
    return `${w.year}-${w.week}`;
  };
  const buckets: [number, (t: string, nr: number) => string][] = [
    [p.keepLast ?? 0, (_t, nr) => String(nr)],
    [p.keepHourly ?? 0, (t) => parts(t)],
    [p.keepDaily ?? 0, (t) => parts(t).slice(0, 10)],
    [p.keepWeekly ?? 0, week],
    [p.keepMonthly ?? 0, (t) => parts(t).slice(0, 7)],
    [p.keepYearly ?? 0, (t) => parts(t).slice(0, 4)],
  ];
  const last = buckets.map(() => "");
  const latest = list.find((s) => Date.parse(s.time) <= now);
  const cutoff =
    p.keepWithin && latest
      ? withinCutoff(Date.parse(latest.time), parseDuration(String(p.keepWithin)), zone)
      : now;
  const keep: string[] = [];
  for (const [nr, cur] of list.entries()) {
    let kept = p.keepWithin !== undefined && Date.parse(cur.time) > cutoff;
    for (const [i, b] of buckets.entries()) {
      if (b[0] <= 0) continue;
      const val = b[1](cur.time, nr);
      if (val !== last[i]) {
        kept = true;
        last[i] = val;
        b[0]--;
      }
    }
    if (kept) keep.push(cur.id);
  }
  return keep;
}

describe("restic oracle", () => {
  it("agrees with a transcription of restic's algorithm on random snapshots and policies", () => {
    let x = 987654;
    const rnd = (n: number) => {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      return Math.floor((x / 2 ** 31) * n);
    };
    const zones = [
      "UTC",
      "Europe/Berlin",
      "America/New_York",
      "Australia/Lord_Howe",
      "Asia/Kathmandu",
      "Pacific/Apia",
    ];
    const now = Date.UTC(2025, 5, 1);
    for (let round = 0; round < 300; round++) {
      const zone = zones[round % zones.length]!;
      const count = 1 + rnd(60);
      // Spread over ~3 years (some in the future), clustered so buckets repeat and DST nights occur.
      const s = Array.from({ length: count }, () =>
        snap(
          new Date(
            Date.UTC(2022, 9, 1) + rnd(1000) * 86_400_000 + rnd(4) * 3_600_000 * 6 + rnd(60) * 60_000,
          ).toISOString(),
        ),
      );
      const policy: RetentionPolicy = {};
      const pick = () => (rnd(3) === 0 ? 0 : 1 + rnd(8));
      policy.keepLast = pick();
      policy.keepHourly = pick();
      policy.keepDaily = pick();
      policy.keepWeekly = pick();
      policy.keepMonthly = pick();
      policy.keepYearly = pick();
      if (rnd(2) === 0) policy.keepWithin = `${rnd(3)}m${1 + rnd(20)}d${rnd(24)}h`;
      if (!hasKeepRule(policy)) policy.keepLast = 1;
      const got = applyRetention(s, policy, { timeZone: zone, now }).keep.map((k) => k.snapshot.id);
      expect(got, `${zone} ${JSON.stringify(policy)}`).toEqual(resticOracle(s, policy, zone, now));
    }
  });
});

describe("keep-within", () => {
  it.each([
    ["2024-03-31T12:00Z", "1m", "UTC", "2024-02-29T12:00Z"],
    ["2023-03-31T12:00Z", "1m", "UTC", "2023-02-28T12:00Z"],
    ["2024-02-29T12:00Z", "1y", "UTC", "2023-02-28T12:00Z"],
    ["2025-01-15T00:00Z", "1y2m3d4h", "UTC", "2023-11-11T20:00Z"],
    ["2024-01-01T00:00Z", "1d", "UTC", "2023-12-31T00:00Z"],
    ["2024-03-03T00:00Z", "3d", "UTC", "2024-02-29T00:00Z"],
    // A calendar day across spring-forward is 23 hours long: the wall clock is kept.
    ["2024-03-10T12:00Z", "1d", "America/New_York", "2024-03-09T13:00Z"],
    ["2024-03-10T12:00Z", "24h", "America/New_York", "2024-03-09T12:00Z"],
  ])("cutoff of %s minus %s in %s is %s", (anchor, d, zone, expected) => {
    expect(new Date(withinCutoff(Date.parse(anchor), parseDuration(d), zone)).toISOString()).toBe(
      iso(expected),
    );
  });

  it("keeps snapshots strictly newer than the cutoff, relative to the newest snapshot", () => {
    const s = ["2024-01-10T00:00Z", "2024-01-07T00:00Z", "2024-01-06T23:59Z", "2024-01-01T00:00Z"].map((t) =>
      snap(t),
    );
    const r = applyRetention(s, { keepWithin: "3d" }, { timeZone: "UTC", now: Date.parse("2030-01-01") });
    expect(r.keep.map((k) => k.snapshot.time)).toEqual([iso("2024-01-10T00:00Z")].concat([]));
    expect(r.keep[0]?.reasons).toEqual(["within 3d"]);
    const r2 = applyRetention(s, { keepWithin: "4d" }, { timeZone: "UTC" });
    expect(r2.keep.map((k) => k.snapshot.time)).toEqual(
      ["2024-01-10T00:00Z", "2024-01-07T00:00Z", "2024-01-06T23:59Z"].map(iso),
    );
  });

  it.each(["999999999y", "1000000m", "99999999999d", "2024y1m"])(
    "%s reaches back before the year 1: everything is within it",
    (d) => {
      expect(withinCutoff(Date.parse("2024-06-01T00:00Z"), parseDuration(d), "Europe/Berlin")).toBe(
        Number.NEGATIVE_INFINITY,
      );
      const s = ["2024-06-01T00:00Z", "1999-01-01T00:00Z", "1970-01-01T00:00Z"].map((t) => snap(t));
      expect(applyRetention(s, { keepWithin: d }, { timeZone: "Europe/Berlin" }).remove).toEqual([]);
    },
  );

  it("is measured from the newest snapshot that is not in the future", () => {
    const s = ["2024-01-01T00:00Z", "2024-01-09T00:00Z", "2024-01-10T00:00Z", "2031-01-01T00:00Z"].map((t) =>
      snap(t),
    );
    const r = applyRetention(
      s,
      { keepWithin: "3d" },
      { timeZone: "UTC", now: Date.parse("2024-01-11T00:00Z") },
    );
    expect(r.keep.map((k) => k.snapshot.time)).toEqual(
      ["2031-01-01T00:00Z", "2024-01-10T00:00Z", "2024-01-09T00:00Z"].map(iso),
    );
    // All in the future: measured from now, so every one of them is kept.
    const future = applyRetention(
      s.slice(1),
      { keepWithin: "1d" },
      { timeZone: "UTC", now: Date.parse("2020-01-01") },
    );
    expect(future.remove).toEqual([]);
  });

  it("can be anchored at now instead", () => {
    const s = ["2024-01-10T00:00Z", "2024-01-05T00:00Z"].map((t) => snap(t));
    const r = applyRetention(
      s,
      { keepWithin: "2d", keepLast: 1 },
      {
        timeZone: "UTC",
        now: new Date("2024-01-06T00:00Z"),
        withinFrom: "now",
      },
    );
    expect(r.keep.map((k) => k.reasons)).toEqual([["last", "within 2d"], ["within 2d"]]);
  });

  it.each([
    ["1y2m3d4h", { years: 1, months: 2, days: 3, hours: 4 }],
    ["30d", { years: 0, months: 0, days: 30, hours: 0 }],
    ["4h1y", { years: 1, months: 0, days: 0, hours: 4 }],
  ])("parses %s", (text, d) => {
    expect(parseDuration(text)).toEqual(d);
  });

  it.each(["", "1", "d", "1w", "1d1d", "-1d", "1.5d", "1 d"])("rejects %j", (text) => {
    expect(() => parseDuration(text)).toThrow(ValidationError);
  });

  it("formats durations", () => {
    expect(formatDuration(parseDuration("4h1y"))).toBe("1y4h");
    expect(formatDuration({ years: 0, months: 0, days: 0, hours: 0 })).toBe("0h");
  });
});

describe("tags, groups and filters", () => {
  it("keep-tag needs every tag of a list; lists are alternatives", () => {
    const s = [
      snap("2024-01-01", { tags: ["a"] }),
      snap("2024-01-02", { tags: ["a", "b"] }),
      snap("2024-01-03", { tags: ["c"] }),
      snap("2024-01-04", { tags: [] }),
    ];
    expect(keptTimes(s, { keepTags: ["a,b", "c"] })).toEqual(["2024-01-03", "2024-01-02"].map(iso));
  });

  it('"" as a tag list means untagged, for keep-tag and for the filter (restic)', () => {
    const s = [
      snap("2024-01-01", { tags: [] }),
      snap("2024-01-02", { tags: ["a"] }),
      snap("2024-01-03", { tags: [] }),
      snap("2024-01-04", { tags: ["a"] }),
    ];
    const kept = applyRetention(s, { keepTags: [""] }, { timeZone: "UTC" });
    expect(kept.keep.map((k) => [k.snapshot.time, k.reasons])).toEqual([
      [iso("2024-01-03"), ["untagged"]],
      [iso("2024-01-01"), ["untagged"]],
    ]);
    // Only untagged snapshots take part: the tagged ones are neither kept nor removed.
    const filtered = applyRetention(s, { keepLast: 1 }, { timeZone: "UTC", tags: [""] });
    expect(filtered.keep.map((k) => k.snapshot.time)).toEqual([iso("2024-01-03")]);
    expect(filtered.remove.map((x) => x.time)).toEqual([iso("2024-01-01")]);
  });

  it("applies the policy per host and paths by default", () => {
    const s = [
      snap("2024-01-01", { hostname: "a" }),
      snap("2024-01-02", { hostname: "a" }),
      snap("2024-01-01", { hostname: "b" }),
      snap("2024-01-03", { hostname: "a", paths: ["/other"] }),
      snap("2024-01-04", { hostname: "a", paths: ["/data"], tags: ["x"] }),
    ];
    const r = applyRetention(s, { keepLast: 1 }, { timeZone: "UTC" });
    expect(r.groups.map((g) => g.key)).toEqual([
      { host: "a", paths: ["/data"] },
      { host: "a", paths: ["/other"] },
      { host: "b", paths: ["/data"] },
    ]);
    expect(r.keep.map((k) => `${k.snapshot.hostname}${k.snapshot.time.slice(8, 10)}`)).toEqual([
      "a04",
      "a03",
      "b01",
    ]);
    const one = applyRetention(s, { keepLast: 1 }, { timeZone: "UTC", groupBy: [] });
    expect(one.keep).toHaveLength(1);
    const tagged = applyRetention(s, { keepLast: 1 }, { timeZone: "UTC", groupBy: ["tags"] });
    expect(tagged.groups.map((g) => g.key)).toEqual([{ tags: ["x"] }, { tags: [] }]);
  });

  it("leaves snapshots outside the host/tag filter untouched", () => {
    const s = [
      snap("2024-01-01", { hostname: "a", tags: ["t"] }),
      snap("2024-01-02", { hostname: "a", tags: ["t"] }),
      snap("2024-01-03", { hostname: "a" }),
      snap("2024-01-01", { hostname: "b", tags: ["t"] }),
    ];
    const r = applyRetention(s, { keepLast: 1 }, { timeZone: "UTC", hosts: ["a"], tags: ["t"] });
    expect(r.keep.map((k) => k.snapshot.time)).toEqual([iso("2024-01-02")]);
    expect(r.remove.map((k) => k.time)).toEqual([iso("2024-01-01")]);
    expect(r.remove[0]?.hostname).toBe("a");
  });
});

describe("retentionFromConfig", () => {
  it.each([
    [{}, null],
    [{ keepLast: null, keepDaily: 0, retentionDays: null }, null],
    [{ keepLast: 3 }, { keepLast: 3 }],
    [
      { keepLast: 2, keepDaily: 7, keepWeekly: 4, keepMonthly: 12, retentionDays: 30 },
      { keepLast: 2, keepDaily: 7, keepWeekly: 4, keepMonthly: 12, keepWithin: "30d" },
    ],
    [
      { keepHourly: 24, keepYearly: 5 },
      { keepHourly: 24, keepYearly: 5 },
    ],
  ])("%j → %j", (cfg, policy) => {
    expect(retentionFromConfig(cfg)).toEqual(policy);
  });

  it("rejects negative values", () => {
    expect(() => retentionFromConfig({ keepDaily: -2 })).toThrow(ValidationError);
  });

  it("retentionDays keeps the last N days before the newest snapshot", () => {
    const s = ["2024-06-30T08:00Z", "2024-06-01T09:00Z", "2024-05-31T07:00Z"].map((t) => snap(t));
    const policy = retentionFromConfig({ retentionDays: 30 })!;
    expect(keptTimes(s, policy)).toEqual(["2024-06-30T08:00Z", "2024-06-01T09:00Z"].map(iso));
  });
});
