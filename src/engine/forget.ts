/**
 * forget: applies a retention policy to a repository's snapshots and deletes the snapshot objects
 * it does not keep. Data stays until prune. Runs under a shared lock: deleting snapshot objects
 * never invalidates what a concurrent backup or restore relies on (blobs stay until prune, which
 * needs the exclusive lock).
 */
import { throwIfAborted, wrapError } from "../util/errors.ts";
import type { RepositoryImpl } from "./repository/repository.ts";
import {
  applyRetention,
  type RetentionOptions,
  type RetentionPolicy,
  type RetentionResult,
} from "./retention.ts";
import type { Snapshot } from "./types.ts";

export interface ForgetOptions extends RetentionOptions {
  /** Compute and report only; delete nothing. */
  dryRun?: boolean;
  signal?: AbortSignal;
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
  const snapshots = await repo.listSnapshots(options.signal);
  const result = applyRetention(snapshots, policy, options);
  const removed: string[] = [];
  if (!options.dryRun) {
    for (const s of result.remove) {
      throwIfAborted(options.signal);
      try {
        await repo.backend.delete(`snapshots/${s.id}`, { signal: options.signal });
      } catch (e) {
        throw wrapError(`delete snapshot ${s.id.slice(0, 12)}`, e);
      }
      removed.push(s.id);
    }
  }
  return { ...result, removed };
}
