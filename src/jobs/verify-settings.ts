/**
 * Settings of scheduled checks and restore drills (settings table, one JSON value per key, read
 * at each use). A period of 0 days turns that schedule off; "Verify now" and "Drill now" still work.
 */
import { z } from "zod";
import type { Db } from "../db/client.ts";
import { readTypedSetting, writeTypedSetting } from "../db/settings.ts";

export const VERIFY_SETTINGS = {
  /** Each destination's repository is checked this often (days); 0: never on a schedule. */
  checkEveryDays: { key: "verify.checkEveryDays", schema: z.number().int().min(0).max(366), default: 30 },
  /** Share of the packs a scheduled check (and Verify now, by default) downloads and authenticates. */
  checkReadDataPct: { key: "verify.checkReadDataPct", schema: z.number().min(0).max(100), default: 5 },
  /** Each enabled job gets a restore drill this often (days); 0: never on a schedule. */
  drillEveryDays: { key: "verify.drillEveryDays", schema: z.number().int().min(0).max(366), default: 30 },
  /** Most files a drill restores. */
  drillFiles: { key: "verify.drillFiles", schema: z.number().int().min(1).max(10_000), default: 20 },
  /** Most bytes a drill restores (files larger are never picked). */
  drillMaxBytes: {
    key: "verify.drillMaxBytes",
    schema: z
      .number()
      .int()
      .min(1)
      .max(1024 ** 4),
    default: 256 * 1024 * 1024,
  },
} as const;

export type VerifySettingName = keyof typeof VERIFY_SETTINGS;

export function verifySetting(db: Db, name: VerifySettingName): number {
  return readTypedSetting<number>(db, VERIFY_SETTINGS[name]);
}

/** Stores a value; throws ZodError when it is out of range. */
export function setVerifySetting(db: Db, name: VerifySettingName, value: number, now: number): void {
  writeTypedSetting<number>(db, VERIFY_SETTINGS[name], value, now);
}

/** Every setting's current value, by name. */
export function verifySettings(db: Db): Record<VerifySettingName, number> {
  const names = Object.keys(VERIFY_SETTINGS) as VerifySettingName[];
  return Object.fromEntries(names.map((n) => [n, verifySetting(db, n)])) as Record<VerifySettingName, number>;
}

/** The settings' shape for a partial update (each field optional, each within its range). */
export const verifySettingsPatch = z
  .object({
    checkEveryDays: VERIFY_SETTINGS.checkEveryDays.schema,
    checkReadDataPct: VERIFY_SETTINGS.checkReadDataPct.schema,
    drillEveryDays: VERIFY_SETTINGS.drillEveryDays.schema,
    drillFiles: VERIFY_SETTINGS.drillFiles.schema,
    drillMaxBytes: VERIFY_SETTINGS.drillMaxBytes.schema,
  })
  .partial()
  .strict();
