/**
 * The restore kind of a run's child process (`backapp __run`): the spec the server writes on
 * stdin and the messages the child answers with, beside the backup ones in run-protocol.ts.
 */
import type { RepositoryTargetSpec } from "./repository-access.ts";

export type ExistingChoice = "skip" | "overwrite" | "rename";

export interface RestoreSpec {
  kind: "restore";
  logId: string;
  target: RepositoryTargetSpec;
  /** Full snapshot id (resolved by the server before queueing). */
  snapshotId: string;
  /** Snapshot paths to restore; empty: everything. */
  paths: string[];
  /** Absolute folder on this machine; snapshot path /a/b lands at <folder>/a/b. */
  folder: string;
  /** The user's allowed roots: the folder must still be inside them when the child opens it. */
  within?: string[];
  existing: ExistingChoice;
}

export type RestoreMessage = {
  type: "restored";
  filesRestored: number;
  filesSkipped: number;
  bytesRestored: number;
  errors: number;
};

export function isRestoreSpec(spec: object): spec is RestoreSpec {
  return "kind" in spec && spec.kind === "restore";
}
