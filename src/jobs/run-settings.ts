/**
 * Settings of the runner and scheduler, stored in the settings table (one JSON value per key) and
 * read at each use, so an admin's change applies without a restart. A missing or malformed value
 * reads as the default.
 */
import { z } from "zod";
import type { Db } from "../db/client.ts";
import { getSetting, setSetting } from "../db/settings.ts";

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
  const spec = RUN_SETTINGS[name];
  const parsed = spec.schema.safeParse(getSetting(db, spec.key));
  return parsed.success ? parsed.data : spec.default;
}

/** Stores a value; throws ZodError when it is out of range. */
export function setRunSetting(db: Db, name: RunSettingName, value: number, now: number): void {
  const spec = RUN_SETTINGS[name];
  setSetting(db, spec.key, spec.schema.parse(value), now);
}
