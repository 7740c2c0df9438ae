/**
 * Prune deletes data, so it runs only while this process holds the repository's exclusive lock.
 * Checked at the start and again before the first write of the new index and before deleting: a
 * lock removed meanwhile (judged stale by another host after a long suspend, or `unlock
 * --remove-all`) means a backup may now be writing packs prune would think unreferenced.
 */
import { hostname as osHostname } from "node:os";
import { LockedError } from "../../util/errors.ts";
import { listLocks } from "../repository/lock.ts";
import type { RepositoryImpl } from "../repository/repository.ts";

export async function requireExclusiveLock(repo: RepositoryImpl, what: string): Promise<void> {
  const host = osHostname();
  const locks = await listLocks(repo.backend, repo.masterKeys);
  const ours = locks.some((l) => l.exclusive && l.pid === process.pid && l.hostname === host);
  if (!ours) {
    throw new LockedError(
      `prune needs this process to hold the exclusive lock (open the repository with lock "exclusive"); not held ${what}`,
    );
  }
}
