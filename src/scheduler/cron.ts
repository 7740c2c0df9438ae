/**
 * Schedules of backup jobs, pure and croner-based: validation, the next run times in the job's
 * time zone (DST handled by croner: a fixed-time job whose time falls into a spring-forward gap
 * runs at the first valid time after it, and a repeated autumn hour runs once), presets and the
 * schedule in words. An empty cron expression means "manual only".
 */
import { Cron } from "croner";

export interface Schedule {
  /** 5 fields, or 6 with seconds first; "" = manual only. */
  cronExpression: string;
  /** IANA time zone, e.g. "Europe/Paris". */
  timezone: string;
}

/** Preset names of the job form, and what they mean. */
export const PRESETS = {
  hourly: "0 * * * *",
  daily: "0 2 * * *",
  weekly: "0 2 * * 0",
} as const;
export type PresetName = keyof typeof PRESETS;

/** The usual cron nicknames, written out so a stored expression always has 5 or 6 fields. */
const NICKNAMES: Record<string, string> = {
  "@hourly": "0 * * * *",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@weekly": "0 0 * * 0",
  "@monthly": "0 0 1 * *",
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
};

/**
 * A user's expression as stored: trimmed, inner spaces collapsed, a preset name
 * ("hourly"/"daily"/"weekly") or nickname ("@daily") replaced by its fields.
 */
export function normalizeCron(expression: string): string {
  const text = expression.trim().replace(/\s+/g, " ");
  const lower = text.toLowerCase();
  if (Object.hasOwn(PRESETS, lower)) return PRESETS[lower as PresetName];
  return NICKNAMES[lower] ?? text;
}

/** The preset an expression equals, or null for a custom one. */
export function presetOf(expression: string): PresetName | null {
  const found = Object.entries(PRESETS).find(([, cron]) => cron === expression);
  return found ? (found[0] as PresetName) : null;
}

/** Zones judged so far: building an Intl formatter is slow (milliseconds), and zone names are few. */
const zoneCache = new Map<string, boolean>();

/** True when `zone` is an IANA time zone this runtime knows (Intl is the authority croner uses). */
export function isTimeZone(zone: string): boolean {
  const known = zoneCache.get(zone);
  if (known !== undefined) return known;
  let valid = zone.trim() !== "" && zone === zone.trim();
  if (valid) {
    try {
      new Intl.DateTimeFormat("en", { timeZone: zone });
    } catch {
      valid = false;
    }
  }
  if (zoneCache.size > 2000) zoneCache.clear(); // user input: keep the cache bounded
  zoneCache.set(zone, valid);
  return valid;
}

/** A paused croner job for the schedule: it never fires, it only computes. Throws on a bad pattern. */
function pausedJob(s: Schedule): Cron {
  return new Cron(s.cronExpression, { paused: true, timezone: s.timezone, mode: "5-or-6-parts" });
}

/**
 * Problems with a schedule, keyed by field ("cronExpression", "timezone"); empty when it is valid.
 * An expression that parses but never fires (e.g. 31 February) is a problem too.
 */
export function scheduleProblems(s: Schedule): Record<string, string> {
  const problems: Record<string, string> = {};
  if (!isTimeZone(s.timezone)) problems.timezone = "Choose a known time zone, such as Europe/Paris or UTC.";
  if (s.cronExpression === "") return problems;
  const fields = s.cronExpression.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6) {
    problems.cronExpression = `A cron expression has 5 fields (minute hour day month weekday), or 6 with seconds first; this one has ${fields}.`;
    return problems;
  }
  try {
    const job = new Cron(s.cronExpression, {
      paused: true,
      mode: "5-or-6-parts",
      ...(problems.timezone ? {} : { timezone: s.timezone }),
    });
    if (job.nextRun() === null) problems.cronExpression = "This schedule never runs.";
  } catch (error) {
    problems.cronExpression = `Not a valid cron expression: ${cronMessage(error)}`;
  }
  return problems;
}

/** croner's message without its class prefix ("CronPattern: Invalid value for minute: 61"). */
function cronMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/^Cron\w*:\s*/, "");
}

/**
 * The next `n` run times strictly after `from`, as instants; [] for a manual-only or invalid
 * schedule (callers validate with scheduleProblems first).
 */
export function nextRunTimes(s: Schedule, n: number, from: Date): Date[] {
  if (s.cronExpression === "" || !isTimeZone(s.timezone)) return [];
  try {
    return pausedJob(s).nextRuns(n, from);
  } catch {
    return [];
  }
}

const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

const isNumber = (field: string) => /^\d+$/.test(field);
const pad = (n: string) => n.padStart(2, "0");
const everyStep = (field: string) => /^\*\/(\d+)$/.exec(field)?.[1];

/** "Monday", "Monday and Friday", "Monday to Friday" for a day-of-week field, or null. */
function weekdays(field: string): string | null {
  const name = (d: string) => (isNumber(d) ? DAYS[Number(d) % 7] : undefined);
  const range = /^(\d)-(\d)$/.exec(field);
  if (range) {
    const [from, to] = [name(range[1]!), name(range[2]!)];
    return from && to ? `${from} to ${to}` : null;
  }
  const names = field.split(",").map(name);
  if (names.some((n) => n === undefined)) return null;
  return names.length === 1 ? names[0]! : `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;
}

/** Words for a five-field expression (seconds already dropped), or null when it is too unusual. */
function describeFields(
  minute: string,
  hour: string,
  dom: string,
  month: string,
  dow: string,
): string | null {
  const at = isNumber(minute) && isNumber(hour) ? `at ${pad(hour)}:${pad(minute)}` : null;
  const anyDay = dom === "*" && month === "*";
  if (at && anyDay && dow === "*") return `every day ${at}`;
  if (at && anyDay) {
    const days = weekdays(dow);
    return days ? `every ${days} ${at}` : null;
  }
  if (at && isNumber(dom) && dow === "*") {
    if (month === "*") return `on day ${dom} of every month ${at}`;
    if (isNumber(month)) return `every year on ${MONTHS[Number(month) - 1]} ${dom} ${at}`;
    return null;
  }
  if (!(anyDay && dow === "*")) return null;
  if (isNumber(minute) && hour === "*") return `every hour at minute ${minute}`;
  if (isNumber(minute) && everyStep(hour)) return `every ${everyStep(hour)} hours at minute ${minute}`;
  if (everyStep(minute) && hour === "*") return `every ${everyStep(minute)} minutes`;
  if (minute === "*" && hour === "*") return "every minute";
  return null;
}

/**
 * The schedule in words with its zone: "every day at 02:00 (Europe/Paris)", "every 15 minutes
 * (UTC)", "manual only"; unusual expressions read as "cron 0 3 1-7 * 1 (UTC)".
 */
export function describeSchedule(s: Schedule): string {
  if (s.cronExpression.trim() === "") return "manual only";
  const parts = s.cronExpression.trim().split(/\s+/);
  let words: string | null = null;
  if (parts.length === 5) words = describeFields(...(parts as [string, string, string, string, string]));
  if (parts.length === 6) {
    const [second, ...rest] = parts as [string, string, string, string, string, string];
    if (second === "0") words = describeFields(...(rest as [string, string, string, string, string]));
    else if (everyStep(second) && rest.every((f) => f === "*")) words = `every ${everyStep(second)} seconds`;
    else if (second === "*" && rest.every((f) => f === "*")) words = "every second";
  }
  return `${words ?? `cron ${parts.join(" ")}`} (${s.timezone})`;
}

/** The zone this process runs in (Intl's view of it), offered as the default for a new job. */
export function serverTimeZone(): string {
  const zone = new Intl.DateTimeFormat().resolvedOptions().timeZone;
  return zone && isTimeZone(zone) ? zone : "UTC";
}
