/**
 * Retention policies (restic semantics). Snapshots of one group are walked newest first:
 * - keep-last N keeps the N newest snapshots;
 * - keep-hourly/daily/weekly/monthly/yearly N keeps the newest snapshot of each of the last N
 *   periods (wall-clock buckets in the policy's time zone, see calendar.ts) that have snapshots;
 *   periods without snapshots do not count (restic 0.14's rules: restic ≥ 0.16's extra "oldest
 *   snapshot" rule is deliberately not applied);
 * - keep-within D keeps every snapshot strictly newer than (newest snapshot − D), the newest being
 *   the newest one not in the future (or now, when all are), D applied as
 *   calendar arithmetic on the newest snapshot's wall clock (month ends clamp: Mar 31 − 1m = Feb 28
 *   or 29), then exact hours;
 * - keep-tag T keeps snapshots carrying every tag of T ("a,b" = both a and b; "" = no tag at
 *   all); several keep-tag values are alternatives.
 * A snapshot kept by any rule stays and lists every rule that keeps it. Equal times are ordered by
 * id (the larger id counts as newer), so results never depend on input order.
 */
import { ValidationError } from "../../util/errors.ts";
import { hasAllTags, matchesSelection, parseTagList, snapshotTags } from "../snapshot-filter.ts";
import {
  type BucketUnit,
  bucketOf,
  checkTimeZone,
  daysInMonth,
  fromWallClock,
  localTimeZone,
  utcMs,
  wallClock,
} from "./calendar.ts";
import { type Duration, formatDuration, isZeroDuration, parseDuration } from "./duration.ts";

/** Counts may be Infinity ("unlimited"); 0 or absent means the rule is off. */
export interface RetentionPolicy {
  keepLast?: number;
  keepHourly?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  keepYearly?: number;
  /** "1y2m3d4h" or a parsed Duration. */
  keepWithin?: string | Duration;
  /** Each entry is a tag list "a,b": a snapshot with all of them is kept ("" keeps untagged ones). */
  keepTags?: string[];
}

/** What applyRetention needs of a snapshot (a Snapshot fits). */
export interface RetentionSnapshot {
  id: string;
  time: string;
  hostname: string;
  paths: string[];
  tags: string[];
}

export type GroupField = "host" | "paths" | "tags";

export interface RetentionOptions {
  /** IANA zone for bucket boundaries; default: this process's local zone. */
  timeZone?: string;
  /** Fields that split snapshots into independent groups; default ["host", "paths"]; [] = one group. */
  groupBy?: GroupField[];
  /** Only snapshots of these hosts take part (others are neither kept nor removed). */
  hosts?: string[];
  /** Only snapshots matching one of these tag lists ("a,b" = both; "" = untagged) take part. */
  tags?: string[];
  /** Only snapshots whose paths include every one of these take part (restic's --path). */
  paths?: string[];
  /**
   * The current time (ms or Date; default Date.now()). keep-within is measured back from the
   * group's newest snapshot not after it (so stopped backups never age out, and a snapshot dated
   * in the future by a wrong clock does not push the others out), or from it with withinFrom "now".
   */
  now?: number | Date;
  withinFrom?: "newest" | "now";
}

export interface KeptSnapshot<T> {
  snapshot: T;
  /** e.g. "last", "daily 2024-02-29", "within 30d", "tag important". */
  reasons: string[];
}

export interface RetentionGroup<T> {
  /** The grouping values, e.g. {host: "a", paths: ["/etc"]}. */
  key: { host?: string; paths?: string[]; tags?: string[] };
  keep: KeptSnapshot<T>[];
  remove: T[];
}

export interface RetentionResult<T> {
  groups: RetentionGroup<T>[];
  /** Newest first, across groups. */
  keep: KeptSnapshot<T>[];
  remove: T[];
}

interface Normalized {
  last: number;
  buckets: [BucketUnit, number][];
  within: Duration | null;
  tags: string[][];
}

function count(name: string, n: number | undefined): number {
  if (n === undefined || n === null) return 0;
  if (n !== Number.POSITIVE_INFINITY && (!Number.isInteger(n) || n < 0)) {
    throw new ValidationError(`${name} must be a whole number ≥ 0 or unlimited, got ${n}`);
  }
  return n;
}

function normalize(p: RetentionPolicy): Normalized {
  const within = typeof p.keepWithin === "string" ? parseDuration(p.keepWithin) : (p.keepWithin ?? null);
  const n: Normalized = {
    last: count("keepLast", p.keepLast),
    buckets: (
      [
        ["hourly", count("keepHourly", p.keepHourly)],
        ["daily", count("keepDaily", p.keepDaily)],
        ["weekly", count("keepWeekly", p.keepWeekly)],
        ["monthly", count("keepMonthly", p.keepMonthly)],
        ["yearly", count("keepYearly", p.keepYearly)],
      ] as [BucketUnit, number][]
    ).filter(([, c]) => c > 0),
    within: within && !isZeroDuration(within) ? within : null,
    tags: (p.keepTags ?? []).map(parseTagList),
  };
  if (n.last === 0 && n.buckets.length === 0 && !n.within && n.tags.length === 0) {
    throw new ValidationError("no keep rule given: refusing to remove every snapshot");
  }
  return n;
}

/** True when the policy has at least one active rule. */
export function hasKeepRule(p: RetentionPolicy): boolean {
  try {
    normalize(p);
    return true;
  } catch {
    return false;
  }
}

function newestFirst<T extends RetentionSnapshot>(a: T, b: T): number {
  const d = Date.parse(b.time) - Date.parse(a.time);
  return d !== 0 ? d : b.id < a.id ? -1 : b.id > a.id ? 1 : 0;
}

/** 0001-01-01 UTC: a cutoff before it keeps everything (and stays clear of Intl's range limits). */
const EARLIEST_MS = Date.parse("0001-01-01T00:00:00Z");

/**
 * The keep-within cutoff: (anchor − calendar part) − hours. A duration reaching back before the
 * year 1 gives -Infinity: everything is within it.
 */
export function withinCutoff(anchorMs: number, d: Duration, timeZone: string): number {
  const w = wallClock(anchorMs, timeZone);
  const months = w.year * 12 + (w.month - 1) - d.years * 12 - d.months;
  const year = Math.floor(months / 12);
  const month = (((months % 12) + 12) % 12) + 1;
  const day = Math.min(w.day, daysInMonth(year, month));
  const shifted = new Date(utcMs(year, month - 1, day - d.days));
  if (!(shifted.getTime() >= EARLIEST_MS)) return Number.NEGATIVE_INFINITY;
  const calendar = fromWallClock(
    {
      ...w,
      year: shifted.getUTCFullYear(),
      month: shifted.getUTCMonth() + 1,
      day: shifted.getUTCDate(),
    },
    timeZone,
  );
  return calendar - d.hours * 3_600_000;
}

/**
 * keep-within's anchor: the newest snapshot that is not in the future (a snapshot dated ahead by a
 * wrong clock must not push every other one out of the window), or now when all are.
 */
function withinAnchor(sorted: readonly RetentionSnapshot[], now: number): number {
  for (const s of sorted) {
    const ms = Date.parse(s.time);
    if (ms <= now) return ms;
  }
  return now;
}

function applyGroup<T extends RetentionSnapshot>(
  sorted: T[],
  rules: Normalized,
  timeZone: string,
  anchor: number,
): { keep: KeptSnapshot<T>[]; remove: T[] } {
  const left = rules.buckets.map(([unit, n]) => ({ unit, n, last: "" }));
  let lastLeft = rules.last;
  const cutoff = rules.within ? withinCutoff(anchor, rules.within, timeZone) : 0;
  const keep: KeptSnapshot<T>[] = [];
  const remove: T[] = [];
  for (const s of sorted) {
    const ms = Date.parse(s.time);
    const reasons: string[] = [];
    if (lastLeft > 0) {
      lastLeft--;
      reasons.push("last");
    }
    const w = wallClock(ms, timeZone);
    // Only the newest snapshot of each period counts (restic 0.14's rule, and the issue's). Newer
    // restic also keeps a group's oldest snapshot while periods are left; we don't: a rule keeps
    // exactly the newest of each of its periods, no more.
    for (const b of left) {
      if (b.n <= 0) continue;
      const label = bucketOf(b.unit, w);
      if (label === b.last) continue;
      reasons.push(`${b.unit} ${label}`);
      b.n--;
      b.last = label;
    }
    if (rules.within && ms > cutoff) reasons.push(`within ${formatDuration(rules.within)}`);
    for (const t of rules.tags)
      if (hasAllTags(s.tags, t)) reasons.push(t.length > 0 ? `tag ${t.join(",")}` : "untagged");
    if (reasons.length > 0) keep.push({ snapshot: s, reasons });
    else remove.push(s);
  }
  return { keep, remove };
}

function matchesFilter(s: RetentionSnapshot, o: RetentionOptions): boolean {
  return matchesSelection(s, { hosts: o.hosts, tags: o.tags, paths: o.paths });
}

function groupKey(s: RetentionSnapshot, by: GroupField[]): RetentionGroup<unknown>["key"] {
  const key: RetentionGroup<unknown>["key"] = {};
  if (by.includes("host")) key.host = s.hostname;
  if (by.includes("paths")) key.paths = [...s.paths].sort();
  if (by.includes("tags")) key.tags = snapshotTags(s.tags).sort();
  return key;
}

/**
 * Splits `snapshots` (any order) into kept and removed ones per group. Snapshots outside the
 * host/tag filter appear in neither list. ValidationError when the policy has no keep rule, a
 * count is negative or fractional, a duration or time zone is malformed.
 */
export function applyRetention<T extends RetentionSnapshot>(
  snapshots: readonly T[],
  policy: RetentionPolicy,
  options: RetentionOptions = {},
): RetentionResult<T> {
  const rules = normalize(policy);
  const timeZone = options.timeZone ?? localTimeZone();
  checkTimeZone(timeZone);
  const by = options.groupBy ?? ["host", "paths"];
  const now = options.now instanceof Date ? options.now.getTime() : (options.now ?? Date.now());
  const groups = new Map<string, { key: RetentionGroup<T>["key"]; members: T[] }>();
  for (const s of snapshots) {
    if (Number.isNaN(Date.parse(s.time))) throw new ValidationError(`snapshot ${s.id} has a bad time`);
    if (!matchesFilter(s, options)) continue;
    const key = groupKey(s, by);
    const k = JSON.stringify(key);
    const g = groups.get(k) ?? { key, members: [] };
    g.members.push(s);
    groups.set(k, g);
  }
  const out: RetentionResult<T> = { groups: [], keep: [], remove: [] };
  for (const k of [...groups.keys()].sort()) {
    const g = groups.get(k)!;
    const sorted = [...g.members].sort(newestFirst);
    const anchor = options.withinFrom === "now" ? now : withinAnchor(sorted, now);
    const res = applyGroup(sorted, rules, timeZone, anchor);
    out.groups.push({ key: g.key, ...res });
    out.keep.push(...res.keep);
    out.remove.push(...res.remove);
  }
  out.keep.sort((a, b) => newestFirst(a.snapshot, b.snapshot));
  out.remove.sort(newestFirst);
  return out;
}
