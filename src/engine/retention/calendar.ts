/**
 * Wall-clock calendar fields of an instant in an IANA time zone, and the retention buckets built
 * from them. Buckets are labels of the local wall clock, so a DST fall-back hour that occurs twice
 * is one hourly bucket, a 23- or 25-hour day is one daily bucket, and weeks are ISO 8601 weeks
 * (Monday first; week 1 holds the year's first Thursday; the week-year may differ from the year).
 */
import { ValidationError } from "../../util/errors.ts";

export interface WallClock {
  year: number;
  /** 1–12 */
  month: number;
  /** 1–31 */
  day: number;
  /** 0–23 */
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Date.UTC without its quirk of reading years 0–99 as 1900–1999. */
export function utcMs(year: number, monthIndex: number, day: number, h = 0, mi = 0, s = 0, ms = 0): number {
  const d = new Date(Date.UTC(2000, 0, 1, h, mi, s, ms));
  d.setUTCFullYear(year, monthIndex, day);
  return d.getTime();
}

/** The local zone of this process (what `--time-zone` defaults to). */
export function localTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat("en-US", {
        timeZone,
        hourCycle: "h23",
        year: "numeric",
        month: "numeric",
        day: "numeric",
        hour: "numeric",
        minute: "numeric",
        second: "numeric",
      });
    } catch {
      throw new ValidationError(`unknown time zone "${timeZone}"`);
    }
    formatters.set(timeZone, f);
  }
  return f;
}

/** Throws ValidationError when `timeZone` is not an IANA zone this runtime knows. */
export function checkTimeZone(timeZone: string): void {
  formatter(timeZone);
}

export function wallClock(ms: number, timeZone: string): WallClock {
  const out: WallClock = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0, millisecond: 0 };
  for (const p of formatter(timeZone).formatToParts(new Date(ms))) {
    if (p.type === "year") out.year = Number(p.value);
    else if (p.type === "month") out.month = Number(p.value);
    else if (p.type === "day") out.day = Number(p.value);
    else if (p.type === "hour") out.hour = Number(p.value) % 24;
    else if (p.type === "minute") out.minute = Number(p.value);
    else if (p.type === "second") out.second = Number(p.value);
  }
  out.millisecond = ((ms % 1000) + 1000) % 1000;
  return out;
}

/** Zone offset (ms, local − UTC) at instant `ms`. */
function offsetAt(ms: number, timeZone: string): number {
  const w = wallClock(ms, timeZone);
  return utcMs(w.year, w.month - 1, w.day, w.hour, w.minute, w.second, w.millisecond) - ms;
}

/**
 * The instant of a wall-clock time in `timeZone`. A time skipped by a DST gap maps to the instant
 * the same distance after the gap starts; a repeated time maps to its earlier occurrence.
 */
export function fromWallClock(w: WallClock, timeZone: string): number {
  const asUtc = utcMs(w.year, w.month - 1, w.day, w.hour, w.minute, w.second, w.millisecond);
  const first = asUtc - offsetAt(asUtc, timeZone);
  const second = asUtc - offsetAt(first, timeZone);
  // Earlier occurrence for repeated times: try both candidate offsets and keep the smaller match.
  const candidates = [first, second].filter((t) => sameWall(wallClock(t, timeZone), w));
  return candidates.length > 0 ? Math.min(...candidates) : second;
}

function sameWall(a: WallClock, b: WallClock): boolean {
  return (
    a.year === b.year && a.month === b.month && a.day === b.day && a.hour === b.hour && a.minute === b.minute
  );
}

export function daysInMonth(year: number, month: number): number {
  return new Date(utcMs(year, month, 0)).getUTCDate();
}

/** ISO 8601 week-year and week number (1–53) of a calendar date. */
export function isoWeek(year: number, month: number, day: number): { year: number; week: number } {
  const date = new Date(utcMs(year, month - 1, day));
  const weekday = (date.getUTCDay() + 6) % 7; // Monday = 0
  date.setUTCDate(date.getUTCDate() - weekday + 3); // the Thursday of this week decides the year
  const weekYear = date.getUTCFullYear();
  const jan1 = utcMs(weekYear, 0, 1);
  const week = 1 + Math.floor((date.getTime() - jan1) / 86_400_000 / 7);
  return { year: weekYear, week };
}

export type BucketUnit = "hourly" | "daily" | "weekly" | "monthly" | "yearly";

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** The bucket label of a wall-clock time, e.g. "2024-02-29", "2020-W53", "2024-02". */
export function bucketOf(unit: BucketUnit, w: WallClock): string {
  switch (unit) {
    case "hourly":
      return `${w.year}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}`;
    case "daily":
      return `${w.year}-${pad(w.month)}-${pad(w.day)}`;
    case "weekly": {
      const iso = isoWeek(w.year, w.month, w.day);
      return `${iso.year}-W${pad(iso.week)}`;
    }
    case "monthly":
      return `${w.year}-${pad(w.month)}`;
    case "yearly":
      return String(w.year);
  }
}
