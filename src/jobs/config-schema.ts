/**
 * The backup job's JSON shape as zod schemas, shared by the API and the form (the form's fields
 * are named by the same paths, e.g. "sources.0.path", and turned into this shape by formToInput).
 * Omitted options take defaults, so a PUT is a full replace: what is not sent is reset.
 * Access rules (allowed roots, admin-only hooks) and the destination's owner are judged in
 * src/jobs/configs.ts, which needs the principal and the database.
 */
import { z } from "zod";
import { FieldError } from "../auth/errors.ts";
import { absolutePath } from "../auth/schemas.ts";
import type { BackupConfigInput } from "../db/backup-configs.ts";
import { createPathFilter } from "../engine/scan/patterns.ts";
import { normalizeCron, PRESETS, scheduleProblems } from "../scheduler/cron.ts";

/** The schedule helpers pages need (web reaches the scheduler through jobs). */
export { describeSchedule, nextRunTimes, presetOf, serverTimeZone } from "../scheduler/cron.ts";

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we refuse
const CONTROL = /[\u0000-\u001f\u007f]/;

const glob = z
  .string({ error: "A pattern is text." })
  .trim()
  .min(1, "A pattern cannot be empty.")
  .max(1000, "Use at most 1000 characters.")
  .refine((p) => !CONTROL.test(p), "Use no control characters.")
  .refine((p) => !p.startsWith("!") && !p.startsWith("#"), "Patterns have no '!' negation or '#' comments.")
  .refine(compiles, "Not a valid glob pattern.");

/** True when the engine's filter accepts the pattern (the rules a run will apply, docs/patterns.md). */
function compiles(pattern: string): boolean {
  try {
    createPathFilter({ excludes: [pattern] });
    return true;
  } catch {
    return false;
  }
}

const patterns = z
  .array(glob, { error: "Send a list of patterns." })
  .max(200, "Use at most 200 patterns.")
  .default([]);

/** A source path: absolute, no ".." segment, normalised (trailing "/" dropped) like allowed roots. */
const sourcePath = z
  .string({ error: "Enter an absolute path." })
  .trim()
  .min(1, "Enter an absolute path.")
  .refine((p) => p.startsWith("/"), "Use an absolute path (starting with /).")
  .refine((p) => !p.split("/").includes(".."), "Use a path without '..' segments.")
  .pipe(absolutePath);

const sourceSchema = z.object({
  path: sourcePath,
  includePatterns: patterns,
  excludePatterns: patterns,
});

const whole = (min: number, max: number, what = "a whole number") =>
  z
    .number({ error: `Enter ${what}.` })
    .int(`Enter ${what}.`)
    .min(min, `Use at least ${min}.`)
    .max(max, `Use at most ${max}.`);

const keep = whole(0, 100_000).optional();

export const scheduleSchema = z
  .object({
    cronExpression: z
      .string({ error: "Enter a cron expression, or leave it empty." })
      .max(200)
      .default("")
      .transform(normalizeCron),
    timezone: z.string({ error: "Choose a time zone." }).trim().default("UTC"),
  })
  .superRefine((s, ctx) => {
    for (const [field, message] of Object.entries(scheduleProblems(s))) {
      ctx.addIssue({ code: "custom", message, path: [field] });
    }
  });

const retentionSchema = z
  .object({
    keepLast: keep,
    keepHourly: keep,
    keepDaily: keep,
    keepWeekly: keep,
    keepMonthly: keep,
    keepYearly: keep,
  })
  .default({});

/** A healthchecks-style ping URL: http(s), no user name or password (the SSRF guard judges the host). */
const pingUrlSchema = z
  .string({ error: "Enter a URL." })
  .trim()
  .max(2000, "Use at most 2000 characters.")
  .refine((u) => {
    try {
      const url = new URL(u);
      return (url.protocol === "https:" || url.protocol === "http:") && !url.username && !url.password;
    } catch {
      return false;
    }
  }, "Enter an http:// or https:// URL without a user name or password.");

const optionsSchema = z
  .object({
    type: z.enum(["full", "incremental"], { error: "Choose full or incremental." }).default("incremental"),
    compression: z.boolean({ error: "Send true or false." }).default(true),
    compressionLevel: whole(1, 19).default(3),
    /** Read-only: reported from the destination's repository; accepted and ignored on write. */
    encryption: z.unknown().optional(),
    retentionDays: whole(0, 100_000).nullable().default(null),
    retention: retentionSchema,
    bandwidth: whole(1, 10_000_000, "a speed in KB/s").nullable().default(null),
    healthcheckUrl: pingUrlSchema.nullable().default(null),
    alertAfterHours: whole(1, 87_600, "a number of hours").nullable().default(null),
  })
  .default({
    type: "incremental",
    compression: true,
    compressionLevel: 3,
    retentionDays: null,
    retention: {},
    bandwidth: null,
    healthcheckUrl: null,
    alertAfterHours: null,
  });

const command = z
  .string({ error: "Enter a command." })
  .trim()
  .min(1, "Enter a command.")
  .max(4000, "Use at most 4000 characters.")
  .refine((c) => !CONTROL.test(c), "Write the command on one line, without control characters.");

const hookTimeout = whole(1, 86_400, "a number of seconds").default(300);

export const hooksSchema = z
  .object({
    pre: z
      .object({ command, timeoutSeconds: hookTimeout, abortOnFailure: z.boolean().default(true) })
      .optional(),
    post: z.object({ command, timeoutSeconds: hookTimeout }).optional(),
  })
  .default({});

/** The job as the API and the form send it (id, createdAt, updatedAt and encryption are ignored). */
export const configInputSchema = z.object({
  name: z
    .string({ error: "Name the job." })
    .trim()
    .min(1, "Name the job.")
    .max(100, "Use at most 100 characters.")
    .refine((v) => !CONTROL.test(v), "Use no control characters."),
  enabled: z.boolean({ error: "Send true or false." }).default(true),
  sources: z
    .array(sourceSchema, { error: "Add at least one folder to back up." })
    .min(1, "Add at least one folder to back up.")
    .max(50, "Use at most 50 sources."),
  destinationId: z.string({ error: "Choose a destination." }).trim().min(1, "Choose a destination.").max(100),
  schedule: scheduleSchema.default({ cronExpression: "", timezone: "UTC" }),
  options: optionsSchema,
  hooks: hooksSchema,
});

export type ConfigInput = z.output<typeof configInputSchema>;

/** The stored input: the encryption flag dropped (it belongs to the destination). */
export function toStoredInput(input: ConfigInput): BackupConfigInput {
  const { encryption: _e, ...options } = input.options;
  return { ...input, options };
}

/** Field errors keyed by the full path ("sources.0.path", "schedule.cronExpression"). */
export function fieldErrorsByPath(error: {
  issues: readonly { path: readonly PropertyKey[]; message: string }[];
}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const issue of error.issues) {
    const key = issue.path.length > 0 ? issue.path.map(String).join(".") : "form";
    out[key] ??= issue.message;
  }
  return out;
}

/** Parses a job body; FieldError (400) with one message per field path. */
export function parseConfigInput(value: unknown): ConfigInput {
  const result = configInputSchema.safeParse(value);
  if (!result.success) throw new FieldError(fieldErrorsByPath(result.error));
  return result.data;
}

// ---- the HTML form -------------------------------------------------------------------------

/** Preset choices of the form's schedule select ("custom" uses the cron field). */
export const SCHEDULE_CHOICES = ["manual", "hourly", "daily", "weekly", "custom"] as const;

const lines = (text: string | undefined) =>
  (text ?? "")
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);

/** "" → undefined (omitted, so the default applies); otherwise a number (NaN fails validation). */
function numberField(text: string | undefined): number | undefined {
  return text === undefined || text.trim() === "" ? undefined : Number(text);
}

const on = (form: Record<string, string>, name: string) => ["on", "true", "1"].includes(form[name] ?? "");

/**
 * The form indexes of the non-blank source rows (fields sources.N.path, sources.N.includePatterns,
 * sources.N.excludePatterns), in order: the parsed shape numbers them 0, 1, ... in this order.
 */
export function formSourceIndexes(form: Record<string, string>): number[] {
  const indexes = new Set<number>();
  for (const key of Object.keys(form)) {
    const m = /^sources\.(\d+)\.(path|includePatterns|excludePatterns)$/.exec(key);
    if (m && Number(m[1]) < 100 && (form[key] ?? "").trim() !== "") indexes.add(Number(m[1]));
  }
  return [...indexes].sort((a, b) => a - b);
}

function formSources(form: Record<string, string>) {
  return formSourceIndexes(form).map((i) => ({
    path: form[`sources.${i}.path`] ?? "",
    includePatterns: lines(form[`sources.${i}.includePatterns`]),
    excludePatterns: lines(form[`sources.${i}.excludePatterns`]),
  }));
}

function formCron(form: Record<string, string>): string {
  const choice = form["schedule.preset"] ?? "custom";
  if (choice === "manual") return "";
  if (Object.hasOwn(PRESETS, choice)) return PRESETS[choice as keyof typeof PRESETS];
  return form["schedule.cronExpression"] ?? "";
}

function formHook(form: Record<string, string>, which: "pre" | "post") {
  const cmd = (form[`hooks.${which}.command`] ?? "").trim();
  if (cmd === "") return undefined;
  return {
    command: cmd,
    timeoutSeconds: numberField(form[`hooks.${which}.timeoutSeconds`]),
    ...(which === "pre" ? { abortOnFailure: on(form, "hooks.pre.abortOnFailure") } : {}),
  };
}

/** The form's fields as the JSON shape (unparsed: configInputSchema judges it like an API body). */
export function formToInput(form: Record<string, string>): Record<string, unknown> {
  const retention: Record<string, number | undefined> = {};
  for (const key of ["keepLast", "keepHourly", "keepDaily", "keepWeekly", "keepMonthly", "keepYearly"]) {
    retention[key] = numberField(form[`options.retention.${key}`]);
  }
  const pre = formHook(form, "pre");
  const post = formHook(form, "post");
  return {
    name: form.name ?? "",
    enabled: on(form, "enabled"),
    sources: formSources(form),
    destinationId: form.destinationId ?? "",
    schedule: { cronExpression: formCron(form), timezone: form["schedule.timezone"] ?? "UTC" },
    options: {
      type: form["options.type"] || undefined,
      compression: on(form, "options.compression"),
      compressionLevel: numberField(form["options.compressionLevel"]),
      retentionDays: numberField(form["options.retentionDays"]) ?? null,
      retention,
      bandwidth: numberField(form["options.bandwidth"]) ?? null,
      healthcheckUrl: (form["options.healthcheckUrl"] ?? "").trim() || null,
      alertAfterHours: numberField(form["options.alertAfterHours"]) ?? null,
    },
    hooks: { ...(pre ? { pre } : {}), ...(post ? { post } : {}) },
  };
}
