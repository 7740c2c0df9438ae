/**
 * The restore in a run's child process: opens the repository without a lock holder's rights to
 * change it (a shared lock keeps prune from deleting packs mid-restore), restores with the chosen
 * rule for existing files, reports progress and per-file errors as JSON lines (run-protocol.ts).
 * Decrypting, decompressing and writing happen here, off the server's event loop.
 */
import { restoreWithPolicy } from "../engine/restore/existing.ts";
import { withOpened } from "./operations.ts";
import { openSpecRepository } from "./repository-access.ts";
import type { RestoreSpec } from "./restore-protocol.ts";
import { reportTo } from "./run-progress.ts";
import type { ChildMessage } from "./run-protocol.ts";

export async function runRestoreChild(
  spec: RestoreSpec,
  signal: AbortSignal,
  send: (m: ChildMessage) => Promise<void>,
): Promise<void> {
  const open = () => openSpecRepository(spec.target, { lock: "shared", signal });
  await withOpened(open, async (repo) => {
    await send({ type: "opened" });
    const snapshot = await repo.findSnapshot(spec.snapshotId, signal);
    const summary = await restoreWithPolicy(repo, snapshot, {
      target: spec.folder,
      ...(spec.within ? { within: spec.within } : {}),
      ...(spec.paths.length > 0 ? { includes: spec.paths } : {}),
      existing: spec.existing,
      signal,
      ...reportTo(send),
    });
    await send({
      type: "restored",
      filesRestored: summary.files_restored,
      filesSkipped: summary.files_skipped,
      bytesRestored: summary.bytes_written,
      errors: summary.errors.length,
    });
  });
}
