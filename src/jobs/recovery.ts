/**
 * Disaster recovery on a fresh server: read the recovery copy a destination's repository holds
 * (recovery-document.ts) with the snapshots there, and import the jobs it names for the signed-in
 * user. Imported jobs keep their original ids when free, so their snapshots (tagged `job:<id>`)
 * stay theirs for retention, history and drills; a name the user already has gets a suffix. Each
 * job goes through the same rules as one created by hand (allowed roots, admin-only hooks,
 * schedule and pattern validation); what a rule refuses is reported, the rest is imported.
 */
import { audit } from "../auth/accounts.ts";
import type { ActionContext } from "../auth/deps.ts";
import { FieldError } from "../auth/errors.ts";
import { isAdmin, type Principal } from "../auth/permissions.ts";
import { findConfigRecord, insertConfigRecord, listConfigRecords } from "../db/backup-configs.ts";
import type { Db } from "../db/client.ts";
import type { DestinationRow } from "../db/destinations.ts";
import type { Snapshot } from "../engine/types.ts";
import type { Clock } from "../util/clock.ts";
import { BackappError } from "../util/errors.ts";
import { configInputSchema, fieldErrorsByPath, toStoredInput } from "./config-schema.ts";
import { assertJobAllowed, ownerPrincipal } from "./configs.ts";
import { locationFailure } from "./destination-repository.ts";
import { getDestination } from "./destinations.ts";
import {
  parseRecoveryCopy,
  RECOVERY_APP,
  type RecoveredJob,
  type RecoveryDocument,
} from "./recovery-document.ts";
import { jobOfSnapshot, rebuildHistory } from "./recovery-history.ts";
import { openSpecRepository, repositoryTargetSpec } from "./repository-access.ts";

export interface RecoveryDeps {
  db: Db;
  dataDir: string;
  clock: Clock;
  caBundlePem?: string | null;
}

/** One job found in the repository, as the page and the API show it. */
export interface FoundJob {
  id: string;
  name: string;
  enabled: boolean;
  sources: string[];
  schedule: RecoveredJob["schedule"];
  retention: RecoveredJob["options"]["retention"];
  retentionDays: number | null;
  /** Snapshots in the repository that this job made. */
  snapshots: number;
  /** A job with this id is already on this server (imported before). */
  present: boolean;
}

export interface RecoveryFound {
  /** False when the repository holds no recovery copy (older repositories, other tools). */
  found: boolean;
  /** When the copy was written, by which version, from which destination name. */
  writtenAt: string | null;
  programVersion: string | null;
  destinationName: string | null;
  jobs: FoundJob[];
  snapshots: number;
}

interface RepositoryContents {
  doc: RecoveryDocument | null;
  written: string | null;
  snapshots: Snapshot[];
}

async function readContents(deps: RecoveryDeps, destinationId: string): Promise<RepositoryContents> {
  const spec = repositoryTargetSpec(deps, destinationId);
  try {
    const repo = await openSpecRepository(spec, { lock: "none", workers: 0 });
    try {
      const stored = await repo.readAppDocument(RECOVERY_APP);
      const snapshots = await repo.listSnapshots(undefined, () => {});
      const doc = stored ? parseRecoveryCopy(stored.text) : null;
      return { doc, written: doc ? (stored?.written ?? null) : null, snapshots };
    } finally {
      await repo.close();
    }
  } catch (error) {
    return locationFailure(error, spec);
  }
}

function countByJob(snapshots: Snapshot[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const s of snapshots) {
    const job = jobOfSnapshot(s);
    if (job !== null) counts.set(job, (counts.get(job) ?? 0) + 1);
  }
  return counts;
}

function foundOf(db: Db, contents: RepositoryContents): RecoveryFound {
  const counts = countByJob(contents.snapshots);
  const jobs = (contents.doc?.jobs ?? []).map(
    (j): FoundJob => ({
      id: j.id,
      name: j.name,
      enabled: j.enabled,
      sources: j.sources.map((s) => s.path),
      schedule: j.schedule,
      retention: j.options.retention,
      retentionDays: j.options.retentionDays,
      snapshots: counts.get(j.id) ?? 0,
      present: findConfigRecord(db, j.id) !== undefined,
    }),
  );
  return {
    found: contents.doc !== null,
    writtenAt: contents.written,
    programVersion: contents.doc?.programVersion ?? null,
    destinationName: contents.doc?.destination.name ?? null,
    jobs,
    snapshots: contents.snapshots.length,
  };
}

/** What the destination's repository holds for recovery. NotFoundError for another user's destination. */
export async function findRecovery(deps: RecoveryDeps, p: Principal, destinationId: string) {
  getDestination(deps.db, p, destinationId);
  return foundOf(deps.db, await readContents(deps, destinationId));
}

export interface ImportResult {
  /** `hooksDropped`: the job had shell hooks and the importer is not an admin. */
  imported: { id: string; name: string; originalName: string; hooksDropped: boolean }[];
  /** Jobs not imported, with why (already present, outside allowed folders, invalid). */
  skipped: { id: string; name: string; reason: string }[];
  /** Run rows rebuilt from snapshots. */
  historyRows: number;
}

/** A name the user has no job with: the name, else "name (recovered)", "name (recovered 2)", … */
function freeName(taken: Set<string>, name: string): string {
  const base = name.slice(0, 85);
  let candidate = name;
  for (let n = 1; taken.has(candidate.toLowerCase()); n++) {
    candidate = `${base} (recovered${n === 1 ? "" : ` ${n}`})`;
  }
  taken.add(candidate.toLowerCase());
  return candidate;
}

/** The job as a create request would send it, checked by the same schema and access rules. */
function inputOf(db: Db, p: Principal, job: RecoveredJob, name: string, destination: DestinationRow) {
  const parsed = configInputSchema.safeParse({
    name,
    enabled: job.enabled,
    sources: job.sources,
    destinationId: destination.id,
    schedule: job.schedule,
    options: { ...job.options, healthcheckUrl: null },
    // Hooks are shell commands run by the server: only an admin may bring them back.
    hooks: isAdmin(p) ? job.hooks : {},
  });
  if (!parsed.success) throw new FieldError(fieldErrorsByPath(parsed.error));
  const input = toStoredInput(parsed.data);
  assertJobAllowed(db, p, ownerPrincipal(db, p, destination.userId), input);
  return input;
}

/**
 * Imports the jobs of the repository's recovery copy (all of them, or those in `jobIds`) as jobs
 * of `p` writing into this destination, then rebuilds their history from the snapshots. The
 * caller reschedules the imported jobs.
 */
export async function importRecovery(
  deps: RecoveryDeps,
  p: Principal,
  destinationId: string,
  jobIds: string[] | undefined,
  ctx: ActionContext,
): Promise<ImportResult> {
  const destination = getDestination(deps.db, p, destinationId);
  const contents = await readContents(deps, destinationId);
  if (!contents.doc) throw new FieldError({ form: "This repository holds no job definitions to import." });
  const wanted = jobIds ? new Set(jobIds) : null;
  const taken = new Set(
    listConfigRecords(deps.db, { userId: destination.userId }).map((c) => c.name.toLowerCase()),
  );
  const result: ImportResult = { imported: [], skipped: [], historyRows: 0 };
  for (const job of contents.doc.jobs) {
    if (wanted && !wanted.has(job.id)) continue;
    if (findConfigRecord(deps.db, job.id)) {
      result.skipped.push({ id: job.id, name: job.name, reason: "already on this server" });
      continue;
    }
    try {
      const name = freeName(taken, job.name);
      const input = inputOf(deps.db, p, job, name, destination);
      insertConfigRecord(deps.db, job.id, destination.userId, input, deps.clock.now());
      const hooksDropped = !isAdmin(p) && Object.keys(job.hooks).length > 0;
      result.imported.push({ id: job.id, name, originalName: job.name, hooksDropped });
    } catch (error) {
      if (!(error instanceof BackappError)) throw error;
      result.skipped.push({ id: job.id, name: job.name, reason: error.message });
    }
  }
  const ids = new Set(result.imported.map((j) => j.id));
  result.historyRows = ids.size > 0 ? rebuildHistory(deps.db, destination.id, contents.snapshots, ids) : 0;
  audit(deps, "config.import", {
    ...ctx,
    target: `destination:${destination.id}`,
    details: {
      imported: result.imported.map((j) => j.name),
      skipped: result.skipped.length,
      history: result.historyRows,
    },
  });
  return result;
}
