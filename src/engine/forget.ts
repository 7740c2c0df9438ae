/**
 * forget: applies a retention policy to a repository's snapshots and deletes the snapshot objects
 * it does not keep. Data stays until prune. Runs under a shared lock: deleting snapshot objects
 * never invalidates what a concurrent backup or restore relies on (blobs stay until prune, which
 * needs the exclusive lock).
 */
import { ValidationError, wrapError } from "../util/errors.ts";
import { deleteAll } from "./prune/commit.ts";
import type { RepositoryImpl } from "./repository/repository.ts";
import { listSnapshotIds, parseSnapshotRef, pickSnapshotId } from "./repository/snapshots.ts";
import {
  applyRetention,
  type ConfigRetention,
  type RetentionOptions,
  type RetentionPolicy,
  type RetentionResult,
  retentionFromConfig,
} from "./retention.ts";
import type { Snapshot } from "./types.ts";

export interface ForgetOptions extends RetentionOptions {
  /** Compute and report only; delete nothing. */
  dryRun?: boolean;
  signal?: AbortSignal;
  /**
   * Called for each snapshot object that cannot be read; it is then left in place (neither kept
   * nor removed) and the others are handled. Without it such an object fails the whole call.
   */
  onDamaged?: (id: string, error: Error) => void;
}

export interface ForgetResult extends RetentionResult<Snapshot> {
  /** Ids actually deleted (empty on a dry run). */
  removed: string[];
}

/** Applies `policy` and deletes every snapshot it does not keep. ValidationError for a bad policy. */
export async function forgetSnapshots(
  repo: RepositoryImpl,
  policy: RetentionPolicy,
  options: ForgetOptions = {},
): Promise<ForgetResult> {
  const snapshots = await repo.listSnapshots(options.signal, options.onDamaged);
  const result = applyRetention(snapshots, policy, options);
  const removed = options.dryRun
    ? []
    : await deleteSnapshots(
        repo,
        result.remove.map((s) => s.id),
        options.signal,
      );
  return { ...result, removed };
}

/**
 * A backup config's retention, applied after a successful backup (the web app's scheduled jobs):
 * null, forgetting nothing, when the config sets no rule. Pass `hosts` (and `tags`, when the
 * config's snapshots carry a tag of their own) so only that config's snapshots take part; groups
 * default to host and paths. ValidationError for malformed retention values.
 */
export async function forgetByConfig(
  repo: RepositoryImpl,
  retention: ConfigRetention | null | undefined,
  options: ForgetOptions = {},
): Promise<ForgetResult | null> {
  const policy = retentionFromConfig(retention);
  return policy ? forgetSnapshots(repo, policy, options) : null;
}

/** Deletes snapshot objects, 8 at a time; the first failure stops the rest and is thrown. */
async function deleteSnapshots(repo: RepositoryImpl, ids: string[], signal?: AbortSignal): Promise<string[]> {
  try {
    await deleteAll(
      repo.backend,
      ids.map((id) => `snapshots/${id}`),
      signal,
    );
  } catch (e) {
    throw wrapError("delete snapshots", e);
  }
  return ids;
}

/**
 * Deletes the named snapshots (full ids or unique prefixes of 8+ hex characters), matched against
 * object names so that a damaged snapshot can be removed too. Every ref is resolved before anything
 * is deleted. Returns the ids (deleted, or that would be on a dry run). ValidationError for a
 * malformed or ambiguous ref and for "latest" (name snapshots explicitly); NotFoundError for none.
 */
export async function forgetSnapshotIds(
  repo: RepositoryImpl,
  refs: string[],
  options: { dryRun?: boolean; signal?: AbortSignal } = {},
): Promise<string[]> {
  const all = await listSnapshotIds(repo.backend, options.signal);
  const ids = new Set<string>();
  for (const ref of refs) {
    if (ref === "latest") throw new ValidationError('forget takes snapshot ids, not "latest"');
    ids.add(pickSnapshotId(all, parseSnapshotRef(ref)));
  }
  return options.dryRun ? [...ids] : deleteSnapshots(repo, [...ids], options.signal);
}
