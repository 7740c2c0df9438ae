/**
 * The recovery copy: what backapp keeps in each repository it writes to (as the engine's app
 * document "backapp", docs/repository-format.md §5.1) so a fresh server holding only the bucket
 * and the passphrase can import the jobs. It holds the destination's settings and the jobs that
 * write into it, and never a secret: no S3 secret key, no passphrase, no notification channel
 * (their passwords and webhook secrets live elsewhere), no healthcheck ping URL (its path is the
 * token). Built deterministically, so an unchanged set of definitions writes nothing.
 */
import { z } from "zod";
import { listConfigRecords } from "../db/backup-configs.ts";
import type { Db } from "../db/client.ts";
import { findDestinationRow, storedSettings } from "../db/destinations.ts";
import { findUserById } from "../db/users.ts";
import { packageVersion } from "../util/version.ts";

/** The engine's app-document name backapp uses. */
export const RECOVERY_APP = "backapp";

const hookSchema = z.object({
  command: z.string(),
  timeoutSeconds: z.number(),
  abortOnFailure: z.boolean().optional(),
});

/** One job as kept in the repository (read back from untrusted storage: validated on import too). */
export const recoveredJobSchema = z.object({
  id: z.string().regex(/^[A-Za-z0-9_-]{1,100}$/),
  name: z.string().max(200),
  enabled: z.boolean(),
  owner: z.string().max(320).nullable(),
  sources: z.array(
    z.object({
      path: z.string(),
      includePatterns: z.array(z.string()),
      excludePatterns: z.array(z.string()),
    }),
  ),
  schedule: z.object({ cronExpression: z.string(), timezone: z.string() }),
  options: z.object({
    type: z.enum(["full", "incremental"]),
    compression: z.boolean(),
    compressionLevel: z.number(),
    retentionDays: z.number().nullable(),
    retention: z.record(z.string(), z.number()),
    bandwidth: z.number().nullable(),
    alertAfterHours: z.number().nullable().optional(),
  }),
  hooks: z.object({ pre: hookSchema.optional(), post: hookSchema.optional() }),
  createdAt: z.number(),
});
export type RecoveredJob = z.output<typeof recoveredJobSchema>;

export const recoveryDocumentSchema = z.object({
  format: z.literal("backapp-definitions"),
  version: z.literal(1),
  programVersion: z.string(),
  destination: z.object({
    id: z.string(),
    name: z.string(),
    /** The stored settings (s3: bucket, prefix, endpoint, region, access key id; local: path). */
    settings: z.record(z.string(), z.unknown()),
  }),
  jobs: z.array(recoveredJobSchema),
});
export type RecoveryDocument = z.output<typeof recoveryDocumentSchema>;

/**
 * The text of the recovery copy for a destination (its jobs, without secrets), or null for an
 * unknown destination.
 */
export function recoveryCopyText(db: Db, destinationId: string): string | null {
  const row = findDestinationRow(db, destinationId);
  if (!row) return null;
  const jobs = listConfigRecords(db, { destinationId }).map((c): RecoveredJob => {
    const { healthcheckUrl: _ping, ...options } = c.options;
    return {
      id: c.id,
      name: c.name,
      enabled: c.enabled,
      owner: findUserById(db, c.userId)?.email ?? null,
      sources: c.sources,
      schedule: c.schedule,
      options: {
        ...options,
        retention: { ...options.retention },
        alertAfterHours: options.alertAfterHours ?? null,
      },
      hooks: c.hooks,
      createdAt: c.createdAt,
    };
  });
  const doc: RecoveryDocument = {
    format: "backapp-definitions",
    version: 1,
    programVersion: packageVersion,
    destination: { id: row.id, name: row.name, settings: { ...storedSettings(row) } },
    jobs,
  };
  return JSON.stringify(doc);
}

/** Parses a stored recovery copy; null when it is not one this build reads. */
export function parseRecoveryCopy(text: string): RecoveryDocument | null {
  try {
    const parsed = recoveryDocumentSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
