/**
 * History rebuilt from a repository: the database is a cache of what the repositories hold, so a
 * snapshot of a known job (tag `job:<id>`) that has no run row gets one, marked as recovered
 * (trigger "recovered"). Used after importing jobs on a fresh server and by `backapp repair
 * history`. Rows already there (the snapshot id is recorded) are never duplicated.
 */
import { inArray } from "drizzle-orm";
import { inTransaction } from "../auth/deps.ts";
import { findConfigRecord } from "../db/backup-configs.ts";
import { MAX_STORED_ERRORS, type NewBackupLog } from "../db/backup-logs.ts";
import type { Db } from "../db/client.ts";
import { listDestinationRows } from "../db/destinations.ts";
import { backupLogs } from "../db/schema.ts";
import type { Snapshot } from "../engine/types.ts";
import { newId } from "../util/ids.ts";
import { openSpecRepository, type RepositoryAccessDeps, repositoryTargetSpec } from "./repository-access.ts";

export const RECOVERED_TRIGGER = "recovered";

/** The job a snapshot belongs to (its `job:<id>` tag), or null. */
export function jobOfSnapshot(s: Pick<Snapshot, "tags">): string | null {
  const tag = s.tags.find((t) => t.startsWith("job:"));
  return tag ? tag.slice("job:".length) : null;
}

function rowOf(s: Snapshot, config: { id: string; userId: string; destinationId: string }): NewBackupLog {
  const sum = s.summary;
  const start = Date.parse(s.time);
  return {
    id: newId(),
    configId: config.id,
    userId: config.userId,
    kind: "backup",
    status: sum.errors.length > 0 ? "partial" : "completed",
    trigger: RECOVERED_TRIGGER,
    reason: "recovered from the repository's snapshots",
    destinationId: config.destinationId,
    startTime: start,
    endTime: start + sum.duration_ms,
    durationMs: sum.duration_ms,
    snapshotId: s.id,
    filesProcessed: sum.files_new + sum.files_changed + sum.files_unmodified,
    filesSkipped: sum.errors.length,
    totalBytes: sum.bytes_processed,
    bytesTransferred: sum.bytes_stored,
    errors: JSON.stringify(sum.errors.slice(0, MAX_STORED_ERRORS)),
  };
}

/** Which of these snapshot ids a run row already records (looked up in chunks of SQL parameters). */
function recordedSnapshots(db: Db, ids: string[]): Set<string> {
  const known = new Set<string>();
  for (let i = 0; i < ids.length; i += 500) {
    const rows = db
      .select({ id: backupLogs.snapshotId })
      .from(backupLogs)
      .where(inArray(backupLogs.snapshotId, ids.slice(i, i + 500)))
      .all();
    for (const r of rows) if (r.id) known.add(r.id);
  }
  return known;
}

/**
 * Adds a recovered run row for every snapshot of `destinationId`'s repository that belongs to a
 * job of this destination and has none yet. `onlyJobs` narrows it to some jobs. Returns the
 * number of rows added.
 */
export function rebuildHistory(
  db: Db,
  destinationId: string,
  snapshots: Snapshot[],
  onlyJobs?: ReadonlySet<string>,
): number {
  return inTransaction({ db }, () => {
    const known = recordedSnapshots(
      db,
      snapshots.map((s) => s.id),
    );
    const configs = new Map<string, ReturnType<typeof findConfigRecord>>();
    let added = 0;
    for (const s of snapshots) {
      const jobId = jobOfSnapshot(s);
      if (jobId === null || known.has(s.id) || (onlyJobs && !onlyJobs.has(jobId))) continue;
      if (!configs.has(jobId)) configs.set(jobId, findConfigRecord(db, jobId));
      const config = configs.get(jobId);
      if (!config || config.destinationId !== destinationId) continue;
      db.insert(backupLogs).values(rowOf(s, config)).run();
      known.add(s.id);
      added++;
    }
    return added;
  });
}

export interface HistoryRebuild {
  destinationId: string;
  name: string;
  snapshots: number;
  added: number;
  /** Why this destination's repository could not be read; null when it was. */
  problem: string | null;
}

/**
 * Rebuilds the history of every destination's jobs from its repository (`backapp repair history`).
 * A destination that cannot be opened is reported and the others are still done.
 */
export async function rebuildAllHistory(deps: RepositoryAccessDeps): Promise<HistoryRebuild[]> {
  const out: HistoryRebuild[] = [];
  for (const row of listDestinationRows(deps.db)) {
    const entry: HistoryRebuild = {
      destinationId: row.id,
      name: row.name,
      snapshots: 0,
      added: 0,
      problem: null,
    };
    try {
      const repo = await openSpecRepository(repositoryTargetSpec(deps, row.id), { lock: "none", workers: 0 });
      let snapshots: Snapshot[];
      try {
        snapshots = await repo.listSnapshots(undefined, () => {});
      } finally {
        await repo.close();
      }
      entry.snapshots = snapshots.length;
      entry.added = rebuildHistory(deps.db, row.id, snapshots);
    } catch (e) {
      entry.problem = (e as Error).message;
    }
    out.push(entry);
  }
  return out;
}
