/**
 * A job's healthcheck URL at rest. A ping URL is a credential (whoever has it can report the job
 * as healthy or failed, and services like healthchecks.io put the check's secret in it), so the
 * options column holds it sealed under the data directory's server key (secret-box.ts), bound to
 * the job's id: a sealed value copied into another job's row does not open. The API and the
 * job's page still show it to the job's owner, as typed.
 *
 * Rows written before this stored the URL in clear; they are read as they are and sealed on
 * the next write, or at once by sealStoredHealthcheckUrls (run when the server starts). A value
 * that no longer opens (secret.key lost or replaced) reads as "no URL": the job runs unpinged
 * until its owner enters the URL again, exactly like a lost SMTP password.
 */
import { eq } from "drizzle-orm";
import { type Db, dataDirOf } from "./client.ts";
import { backupConfigs } from "./schema.ts";
import { isSealed, loadServerKey, SecretBoxError, seal, unseal } from "./secret-box.ts";

const context = (jobId: string) => `job.healthcheckUrl:${jobId}`;

/**
 * The value to store for `url`: sealed when the database has a data directory (every database the
 * program opens does; only tests build bare ones).
 */
export function sealHealthcheckUrl(db: Db, jobId: string, url: string | null): string | null {
  if (url === null || url === "") return null;
  const dir = dataDirOf(db);
  return dir === undefined ? url : seal(loadServerKey(dir), context(jobId), url);
}

/** The URL a stored value stands for; null when none, or when a sealed one no longer opens. */
export function openHealthcheckUrl(db: Db, jobId: string, stored: unknown): string | null {
  if (typeof stored !== "string" || stored === "") return null;
  if (!isSealed(stored)) return stored; // written in clear by an older version
  const dir = dataDirOf(db);
  if (dir === undefined) return null;
  try {
    return unseal(loadServerKey(dir), context(jobId), stored).reveal();
  } catch (e) {
    if (e instanceof SecretBoxError) return null;
    throw e;
  }
}

/** Seals every healthcheck URL still stored in clear; returns how many. */
export function sealStoredHealthcheckUrls(db: Db): number {
  if (dataDirOf(db) === undefined) return 0;
  let sealed = 0;
  for (const row of db
    .select({ id: backupConfigs.id, options: backupConfigs.options })
    .from(backupConfigs)
    .all()) {
    let options: Record<string, unknown>;
    try {
      options = JSON.parse(row.options) as Record<string, unknown>;
    } catch {
      continue;
    }
    const url = options.healthcheckUrl;
    if (typeof url !== "string" || url === "" || isSealed(url)) continue;
    options.healthcheckUrl = sealHealthcheckUrl(db, row.id, url);
    db.update(backupConfigs)
      .set({ options: JSON.stringify(options) })
      .where(eq(backupConfigs.id, row.id))
      .run();
    sealed++;
  }
  return sealed;
}
