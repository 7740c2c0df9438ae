/**
 * Settings of the runner and scheduler, stored in the settings table (one JSON value per key) and
 * read at each use, so an admin's change applies without a restart. A missing or malformed value
 * reads as the default.
 */
import { z } from "zod";
import type { Db } from "../db/client.ts";
import { readTypedSetting, writeTypedSetting } from "../db/settings.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export const RUN_SETTINGS = {
  /** Runs at once across different repositories. */
  concurrency: { key: "jobs.concurrency", schema: z.number().int().min(1).max(32), default: 2 },
  /** A run missed while the server was down runs at start-up if missed at most this long ago (ms). */
  missedRunGraceMs: { key: "jobs.missedRunGraceMs", schema: z.number().int().min(0), default: HOUR },
  /** Prune each repository at most this often (ms), after a successful run. */
  pruneEveryMs: { key: "jobs.pruneEveryMs", schema: z.number().int().min(0), default: 7 * DAY },
} as const;

export type RunSettingName = keyof typeof RUN_SETTINGS;

export function runSetting(db: Db, name: RunSettingName): number {
  return readTypedSetting<number>(db, RUN_SETTINGS[name]);
}

/** Stores a value; throws ZodError when it is out of range. */
export function setRunSetting(db: Db, name: RunSettingName, value: number, now: number): void {
  writeTypedSetting<number>(db, RUN_SETTINGS[name], value, now);
}

const MINUTE = 60_000;

/** A whole number in [min, max]; a form's text is read as a number, an empty field is missing. */
function wholeNumber(message: string, min: number, max: number) {
  return z.preprocess(
    (v) => (typeof v === "string" && v.trim() !== "" ? Number(v) : v),
    z.number({ error: message }).int(message).min(min, message).max(max, message),
  );
}

/**
 * What an admin edits (form and JSON share it), in the units people think in: the grace in
 * minutes (up to 7 days), the prune interval in hours (up to a year; 0 prunes after every run).
 */
export const runSettingsInputSchema = z.object({
  concurrency: wholeNumber("Enter a whole number from 1 to 16.", 1, 16),
  missedRunGraceMinutes: wholeNumber("Enter minutes from 0 to 10080 (7 days).", 0, 7 * 24 * 60),
  pruneEveryHours: wholeNumber("Enter hours from 0 to 8760 (a year).", 0, 365 * 24),
});

export type RunSettingsInput = z.output<typeof runSettingsInputSchema>;

export function readRunSettings(db: Db): RunSettingsInput {
  return {
    concurrency: runSetting(db, "concurrency"),
    missedRunGraceMinutes: Math.round(runSetting(db, "missedRunGraceMs") / MINUTE),
    pruneEveryHours: Math.round(runSetting(db, "pruneEveryMs") / HOUR),
  };
}

export function saveRunSettings(db: Db, input: RunSettingsInput, now: number): void {
  setRunSetting(db, "concurrency", input.concurrency, now);
  setRunSetting(db, "missedRunGraceMs", input.missedRunGraceMinutes * MINUTE, now);
  setRunSetting(db, "pruneEveryMs", input.pruneEveryHours * HOUR, now);
}
