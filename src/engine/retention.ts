/**
 * Retention: which snapshots a policy keeps (pure; see retention/policy.ts for the semantics) and
 * the backup-config shape the web app stores, mapped onto a policy.
 */
import { ValidationError } from "../util/errors.ts";
import type { RetentionPolicy } from "./retention/policy.ts";

export { checkTimeZone, isoWeek, localTimeZone } from "./retention/calendar.ts";
export { type Duration, formatDuration, parseDuration } from "./retention/duration.ts";
export {
  applyRetention,
  type GroupField,
  hasKeepRule,
  type KeptSnapshot,
  type RetentionGroup,
  type RetentionOptions,
  type RetentionPolicy,
  type RetentionResult,
  type RetentionSnapshot,
  withinCutoff,
} from "./retention/policy.ts";

/** Retention as a backup config stores it (null/undefined/0 = rule off). */
export interface ConfigRetention {
  keepLast?: number | null;
  keepHourly?: number | null;
  keepDaily?: number | null;
  keepWeekly?: number | null;
  keepMonthly?: number | null;
  keepYearly?: number | null;
  /** Keep every snapshot from the last N days (before the newest snapshot): keep-within Nd. */
  retentionDays?: number | null;
}

function positive(name: string, n: unknown): number | undefined {
  if (n === null || n === undefined || n === 0) return undefined;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) {
    throw new ValidationError(`${name} must be a whole number ≥ 0 (or null), got ${JSON.stringify(n)}`);
  }
  return n;
}

/**
 * The policy a backup config asks for, or null when it sets no rule (keep everything: a job must
 * then not call forgetSnapshots). ValidationError for negative, fractional or non-numeric values
 * (the config is stored as JSON, so anything may come back). Unknown fields are ignored.
 */
export function retentionFromConfig(cfg: ConfigRetention | null | undefined): RetentionPolicy | null {
  if (cfg === null || cfg === undefined) return null;
  if (typeof cfg !== "object" || Array.isArray(cfg)) throw new ValidationError("retention must be an object");
  const days = positive("retentionDays", cfg.retentionDays);
  const policy: RetentionPolicy = {
    keepLast: positive("keepLast", cfg.keepLast),
    keepHourly: positive("keepHourly", cfg.keepHourly),
    keepDaily: positive("keepDaily", cfg.keepDaily),
    keepWeekly: positive("keepWeekly", cfg.keepWeekly),
    keepMonthly: positive("keepMonthly", cfg.keepMonthly),
    keepYearly: positive("keepYearly", cfg.keepYearly),
    keepWithin: days ? `${days}d` : undefined,
  };
  for (const k of Object.keys(policy) as (keyof RetentionPolicy)[]) {
    if (policy[k] === undefined) delete policy[k];
  }
  return Object.keys(policy).length > 0 ? policy : null;
}
