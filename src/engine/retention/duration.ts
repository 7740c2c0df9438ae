/**
 * Durations for `--keep-within`: a sequence of NUMBER UNIT with units y (years), m (months),
 * d (days), h (hours), e.g. "1y2m3d4h", "30d", "12h". Years, months and days are calendar units
 * (applied to the wall clock of the newest snapshot in the policy's time zone); hours are exact.
 */
import { ValidationError } from "../../util/errors.ts";

export interface Duration {
  years: number;
  months: number;
  days: number;
  hours: number;
}

const PART = /(\d+)([ymdh])/y;

/** Parses "1y2m3d4h" (any subset, each unit at most once, in any order). ValidationError otherwise. */
export function parseDuration(text: string): Duration {
  const d: Duration = { years: 0, months: 0, days: 0, hours: 0 };
  const seen = new Set<string>();
  PART.lastIndex = 0;
  let at = 0;
  while (at < text.length) {
    PART.lastIndex = at;
    const m = PART.exec(text);
    if (!m || seen.has(m[2]!)) break;
    seen.add(m[2]!);
    const n = Number(m[1]);
    if (!Number.isSafeInteger(n)) break;
    if (m[2] === "y") d.years = n;
    else if (m[2] === "m") d.months = n;
    else if (m[2] === "d") d.days = n;
    else d.hours = n;
    at = PART.lastIndex;
  }
  if (text.length === 0 || at !== text.length) {
    throw new ValidationError(`"${text}" is not a duration like 1y2m3d4h (units y, m, d, h)`);
  }
  return d;
}

export function formatDuration(d: Duration): string {
  const parts: string[] = [];
  if (d.years) parts.push(`${d.years}y`);
  if (d.months) parts.push(`${d.months}m`);
  if (d.days) parts.push(`${d.days}d`);
  if (d.hours) parts.push(`${d.hours}h`);
  return parts.length > 0 ? parts.join("") : "0h";
}

export function isZeroDuration(d: Duration): boolean {
  return d.years === 0 && d.months === 0 && d.days === 0 && d.hours === 0;
}
