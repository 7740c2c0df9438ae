/**
 * The Destination shapes: what the API and the forms accept (one zod schema for both) and the
 * JSON answered. `secretAccessKey` and `password` (the repository passphrase) are write-only:
 * accepted, never answered — answers say only whether one is stored (`secretAccessKeySet`,
 * `passwordSet`). Every other field of the issue's shape is always present, null when it does
 * not apply to the type (`path` for s3, the S3 fields for local).
 */
import { isAbsolute, normalize } from "node:path";
import { z } from "zod";
import { type DestinationRow, type StoredSettings, storedSettings } from "../db/destinations.ts";

/** Classes a backup can be restored from at once; archive tiers (GLACIER, DEEP_ARCHIVE) need a thaw first. */
export const STORAGE_CLASSES = [
  "STANDARD",
  "STANDARD_IA",
  "ONEZONE_IA",
  "INTELLIGENT_TIERING",
  "REDUCED_REDUNDANCY",
  "GLACIER_IR",
] as const;

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we refuse
const CONTROL = /[\u0000-\u001f\u007f]/;
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

const text = (max: number) =>
  z
    .string({ error: "Enter a value." })
    .trim()
    .max(max, `Use at most ${max} characters.`)
    .refine((v) => !CONTROL.test(v), "Use no control characters.");

/** An optional text field: "" and absent are the same (forms send ""). */
const optionalText = (max: number) =>
  z.preprocess((v) => (v === "" || v === null ? undefined : v), text(max).optional());

const secretField = z.preprocess(
  (v) => (v === "" || v === null ? undefined : v),
  z.string({ error: "Enter it as text." }).max(1024, "Use at most 1024 characters.").optional(),
);

function bucketProblem(b: string): boolean {
  return !BUCKET.test(b) || b.includes("..") || /\.-|-\./.test(b) || /^\d+\.\d+\.\d+\.\d+$/.test(b);
}

function endpointOk(value: string): boolean {
  try {
    const url = new URL(value);
    const http = url.protocol === "http:" || url.protocol === "https:";
    return http && url.hostname !== "" && url.username === "" && url.password === "";
  } catch {
    return false;
  }
}

const common = {
  name: text(100).min(1, "Enter a name."),
  password: secretField,
};

/** Connection settings of an S3 destination (also what test-connection and bucket listing take). */
export const s3ConnectionShape = {
  region: z
    .preprocess((v) => (v === "" || v === undefined || v === null ? "us-east-1" : v), text(40))
    .refine((v) => /^[a-z0-9-]{2,40}$/.test(v), "Use a region name such as eu-west-1."),
  endpoint: optionalText(500).refine(
    (v) => v === undefined || endpointOk(v),
    "Enter an http(s) URL without user name or password, e.g. https://s3.example.com:9000.",
  ),
  accessKeyId: text(128)
    .min(1, "Enter the access key id.")
    .refine((v) => !/\s/.test(v), "Use no spaces."),
  secretAccessKey: secretField,
  caCertificate: z
    .preprocess((v) => (typeof v === "string" && v.trim() === "" ? undefined : v), z.string().optional())
    .refine((v) => v === undefined || v.length <= 65536, "Use at most 64 KiB of PEM text.")
    .refine(
      (v) => v === undefined || /-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/.test(v),
      "Paste PEM text starting with -----BEGIN CERTIFICATE-----.",
    ),
};

const s3Input = z.object({
  type: z.literal("s3"),
  ...common,
  ...s3ConnectionShape,
  bucket: text(63).refine((b) => !bucketProblem(b), "Use 3–63 lowercase letters, digits, dots and hyphens."),
  prefix: z
    .preprocess((v) => (v === undefined || v === null ? "" : v), text(512))
    .transform((p) => p.replace(/^\/+|\/+$/g, ""))
    .refine(
      (p) => p === "" || p.split("/").every((s) => s !== "" && s !== "." && s !== ".."),
      'Use folder names separated by "/", without "." or ".." or empty parts.',
    ),
  storageClass: z.preprocess(
    (v) => (v === "" || v === null ? undefined : v),
    z.enum(STORAGE_CLASSES, { error: `Choose one of ${STORAGE_CLASSES.join(", ")}.` }).optional(),
  ),
});

const localInput = z.object({
  type: z.literal("local"),
  ...common,
  path: text(4096)
    .min(1, "Enter the folder's absolute path.")
    .refine((p) => isAbsolute(p), "Enter an absolute path, e.g. /mnt/backups/laptop.")
    .transform((p) => normalize(p).replace(/(.)\/+$/, "$1")),
});

/** What POST and PUT /api/destinations and the forms accept. */
export const destinationInputSchema = z.discriminatedUnion("type", [s3Input, localInput], {
  error: "Choose the type: s3 or local.",
});
export type DestinationInput = z.output<typeof destinationInputSchema>;

/**
 * What test-connection and the bucket listing accept: an S3 connection (a bucket and prefix for
 * the test), or `destinationId` alone for a stored destination's settings. With both, an empty
 * secret key uses the stored one when the access key id is unchanged (the edit form never holds it).
 */
export const s3ProbeSchema = z
  .object({
    ...s3ConnectionShape,
    accessKeyId: optionalText(128),
    bucket: z.preprocess(
      (v) => (v === "" || v === null ? undefined : v),
      text(63)
        .refine((b) => !bucketProblem(b), "Use 3–63 lowercase letters, digits, dots and hyphens.")
        .optional(),
    ),
    prefix: z.preprocess((v) => (v === undefined || v === null ? "" : v), text(512)),
    destinationId: optionalText(64),
  })
  .refine((v) => v.destinationId !== undefined || v.accessKeyId !== undefined, {
    path: ["accessKeyId"],
    message: "Enter the access key id.",
  });
export type S3ProbeInput = z.output<typeof s3ProbeSchema>;

/** Settings as stored, from validated input (secrets are handled apart). */
export function settingsFromInput(input: DestinationInput, encrypted: boolean): StoredSettings {
  if (input.type === "local") return { kind: "local", path: input.path, encrypted };
  return {
    kind: "s3",
    bucket: input.bucket,
    prefix: input.prefix,
    region: input.region,
    endpoint: input.endpoint ?? null,
    accessKeyId: input.accessKeyId,
    storageClass: input.storageClass ?? null,
    caCertificate: input.caCertificate?.trim() ?? null,
    encrypted,
  };
}

/** The Destination JSON of the API. */
export interface DestinationJson {
  id: string;
  name: string;
  type: "s3" | "local";
  bucket: string | null;
  prefix: string | null;
  region: string | null;
  endpoint: string | null;
  accessKeyId: string | null;
  storageClass: string | null;
  caCertificate: string | null;
  path: string | null;
  /** True when an S3 secret access key is stored (the key itself is never answered). */
  secretAccessKeySet: boolean;
  /** True when a repository passphrase is stored (never answered). */
  passwordSet: boolean;
  /** The repository's own id; two destinations with one id are one repository. */
  repositoryId: string | null;
  /** False only for a repository made with --insecure-no-encryption. */
  encrypted: boolean;
  /** "s3://bucket/prefix" or the folder, for display. */
  location: string;
  userId: string;
  /** ISO 8601 times, as in every other answer of the API. */
  createdAt: string;
  updatedAt: string;
}

export function locationOf(settings: StoredSettings): string {
  if (settings.kind === "local") return settings.path;
  const where = settings.endpoint ? ` at ${new URL(settings.endpoint).host}` : "";
  return `s3://${settings.bucket}${settings.prefix ? `/${settings.prefix}` : ""}${where}`;
}

export function destinationJson(row: DestinationRow): DestinationJson {
  const s = storedSettings(row);
  const s3 = s.kind === "s3" ? s : null;
  return {
    id: row.id,
    name: row.name,
    type: s.kind,
    bucket: s3?.bucket ?? null,
    prefix: s3?.prefix ?? null,
    region: s3?.region ?? null,
    endpoint: s3?.endpoint ?? null,
    accessKeyId: s3?.accessKeyId ?? null,
    storageClass: s3?.storageClass ?? null,
    caCertificate: s3?.caCertificate ?? null,
    path: s.kind === "local" ? s.path : null,
    secretAccessKeySet: s.kind === "s3" && row.secretsEnc !== null,
    passwordSet: row.secretsEnc !== null && s.encrypted,
    repositoryId: row.repositoryId,
    encrypted: s.encrypted,
    location: locationOf(s),
    userId: row.userId,
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
  };
}
