/**
 * Writing the recovery copy (recovery-document.ts) into a repository, in a run's child process
 * (`backapp __run`), so the server never loads the engine or derives a key on its own thread:
 * after each successful backup (the run's spec carries the text) and, when definitions change,
 * as a small run of its own kind ("recovery-copy"). Best effort after a backup: the snapshot
 * counts, a failed copy is retried at the next run.
 */
import type { RepositoryImpl } from "../engine/repository/index.ts";
import { systemClock } from "../util/clock.ts";
import { withOpened } from "./operations.ts";
import { RECOVERY_APP } from "./recovery-document.ts";
import { openSpecRepository, type RepositoryTargetSpec } from "./repository-access.ts";

export interface RecoveryCopySpec {
  kind: "recovery-copy";
  target: RepositoryTargetSpec;
  text: string;
}

/** Child → server: the copy is stored (`written` false: the stored one was the same). */
export type RecoveryCopyMessage = { type: "recovery-copy"; written: boolean };

export function isRecoveryCopySpec(spec: object): spec is RecoveryCopySpec {
  return "kind" in spec && spec.kind === "recovery-copy";
}

/** Stores the text as the repository's recovery copy; false when it was already there. */
export function storeRecoveryCopy(
  repo: RepositoryImpl,
  text: string,
  signal?: AbortSignal,
): Promise<boolean> {
  return repo.writeAppDocument(RECOVERY_APP, text, new Date(systemClock.now()).toISOString(), signal);
}

/** The "recovery-copy" run: open without a lock (the copy is one atomic object), write, report. */
export async function runRecoveryCopyChild(
  spec: RecoveryCopySpec,
  signal: AbortSignal,
  send: (m: RecoveryCopyMessage) => Promise<void>,
): Promise<void> {
  const written = await withOpened(
    () => openSpecRepository(spec.target, { lock: "none", workers: 0, signal }),
    (repo) => storeRecoveryCopy(repo, spec.text, signal),
  );
  await send({ type: "recovery-copy", written });
}
