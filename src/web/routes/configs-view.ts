/**
 * View models of the jobs pages: one list row per job (schedule in words, next run in the job's
 * zone, last run and its age) and the form's values (flat, keyed by the same paths as the JSON
 * shape, so field errors land beside their inputs).
 */
import type { BackupConfigRecord } from "../../db/backup-configs.ts";
import type { BackupLogRow } from "../../db/backup-logs.ts";
import { describeSchedule, nextRunTimes, presetOf } from "../../jobs/config-schema.ts";

export interface ConfigRowView {
  id: string;
  name: string;
  enabled: boolean;
  schedule: string;
  nextRun: string;
  owner: string | null;
  last: { id: string; status: string; age: string; when: string } | null;
  /** A short message after a small action on the row ("Run queued."). */
  notice?: string;
}

/** Formatters by locale and zone: building one is slow (milliseconds each), zones are few. */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(locale: string, zone: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = `${locale} ${zone} ${options.timeZoneName ?? "time"}`;
  let f = formatters.get(key);
  if (!f) {
    if (formatters.size > 2000) formatters.clear();
    f = new Intl.DateTimeFormat(locale, { ...options, timeZone: zone });
    formatters.set(key, f);
  }
  return f;
}

const part = (parts: Intl.DateTimeFormatPart[], type: string) =>
  parts.find((p) => p.type === type)?.value ?? "";

/** The zone's short name at `at` ("CET", "EDT"), else its offset ("GMT+9"): English locales name different zones. */
function zoneName(at: Date, zone: string): string {
  const names = ["en-US", "en-GB"].map((locale) =>
    part(formatter(locale, zone, { timeZoneName: "short" }).formatToParts(at), "timeZoneName"),
  );
  return names.find((n) => !/^(GMT|UTC)[+-]/.test(n)) ?? names[0] ?? zone;
}

const CLOCK: Intl.DateTimeFormatOptions = {
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  hourCycle: "h23",
};

/** "2026-01-02 02:00 CET": a time as read on a clock in `zone`. */
export function formatInZone(at: Date, zone: string): string {
  const parts = formatter("en-GB", zone, CLOCK).formatToParts(at);
  const get = (type: string) => part(parts, type);
  return `${get("year")}-${get("month")}-${get("day")} ${get("hour")}:${get("minute")} ${zoneName(at, zone)}`;
}

/** "just now", "5 min ago", "3 h ago", "2 days ago". */
export function ageOf(ms: number): string {
  const minutes = Math.floor(Math.max(0, ms) / 60_000);
  if (minutes < 1) return "just now";
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.floor(hours / 24)} days ago`;
}

function nextRunText(job: BackupConfigRecord, now: number): string {
  if (job.schedule.cronExpression === "") return "manual only";
  if (!job.enabled) return "paused (job disabled)";
  const [next] = nextRunTimes(job.schedule, 1, new Date(now));
  return next ? formatInZone(next, job.schedule.timezone) : "never";
}

export function configRow(
  job: BackupConfigRecord,
  last: BackupLogRow | undefined,
  now: number,
  owner: string | null,
): ConfigRowView {
  return {
    id: job.id,
    name: job.name,
    enabled: job.enabled,
    schedule: describeSchedule(job.schedule),
    nextRun: nextRunText(job, now),
    owner,
    last: last
      ? {
          id: last.id,
          status: last.status,
          age: ageOf(now - last.startTime),
          when: new Date(last.startTime).toISOString(),
        }
      : null,
  };
}

export interface SourceValues {
  path: string;
  includePatterns: string;
  excludePatterns: string;
}

/** The form's values: flat strings keyed by field path, and source rows. */
export interface FormValues {
  fields: Record<string, string>;
  sources: SourceValues[];
}

const RETENTION = ["keepLast", "keepHourly", "keepDaily", "keepWeekly", "keepMonthly", "keepYearly"] as const;

/** Values of a new job: a daily schedule in the server's zone and a common retention. */
export function newFormValues(timezone: string): FormValues {
  return {
    fields: {
      enabled: "on",
      "schedule.preset": "daily",
      "schedule.cronExpression": "",
      "schedule.timezone": timezone,
      "options.type": "incremental",
      "options.compression": "on",
      "options.compressionLevel": "3",
      "options.retention.keepDaily": "7",
      "options.retention.keepWeekly": "4",
      "options.retention.keepMonthly": "12",
      "hooks.pre.abortOnFailure": "on",
    },
    sources: [],
  };
}

const str = (n: number | null | undefined) => (n === null || n === undefined ? "" : String(n));

export function recordFormValues(job: BackupConfigRecord): FormValues {
  const o = job.options;
  const cron = job.schedule.cronExpression;
  const fields: Record<string, string> = {
    name: job.name,
    enabled: job.enabled ? "on" : "",
    destinationId: job.destinationId,
    "schedule.preset": cron === "" ? "manual" : (presetOf(cron) ?? "custom"),
    "schedule.cronExpression": cron,
    "schedule.timezone": job.schedule.timezone,
    "options.type": o.type,
    "options.compression": o.compression ? "on" : "",
    "options.compressionLevel": String(o.compressionLevel),
    "options.retentionDays": str(o.retentionDays),
    "options.bandwidth": str(o.bandwidth),
    "options.healthcheckUrl": o.healthcheckUrl ?? "",
    "options.alertAfterHours": str(o.alertAfterHours),
    "hooks.pre.command": job.hooks.pre?.command ?? "",
    "hooks.pre.timeoutSeconds": str(job.hooks.pre?.timeoutSeconds),
    "hooks.pre.abortOnFailure": job.hooks.pre?.abortOnFailure === false ? "" : "on",
    "hooks.post.command": job.hooks.post?.command ?? "",
    "hooks.post.timeoutSeconds": str(job.hooks.post?.timeoutSeconds),
  };
  for (const key of RETENTION) fields[`options.retention.${key}`] = str(o.retention[key]);
  const sources = job.sources.map((s) => ({
    path: s.path,
    includePatterns: s.includePatterns.join("\n"),
    excludePatterns: s.excludePatterns.join("\n"),
  }));
  return { fields, sources };
}
