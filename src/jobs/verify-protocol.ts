/**
 * The verification kinds of a run's child process (`backapp __run`): a repository check ("check",
 * optionally reading a share of the packs) and a restore drill ("drill"), beside the backup and
 * restore kinds in run-protocol.ts / restore-protocol.ts. Types only.
 */
import type { RepositoryTargetSpec } from "./repository-access.ts";

export interface CheckSpec {
  kind: "check";
  logId: string;
  target: RepositoryTargetSpec;
  /** Share of the packs to download and authenticate (0 = structure only, 100 = everything). */
  readDataPct: number;
}

export interface DrillSpec {
  kind: "drill";
  logId: string;
  target: RepositoryTargetSpec;
  /** The job whose latest snapshot is drilled (snapshots tagged `job:<configId>`). */
  configId: string;
  /** Most files and bytes restored. */
  count: number;
  maxBytes: number;
  /** An empty folder that holds the sample while it is checked; removed afterwards. */
  folder: string;
}

export type VerifySpec = CheckSpec | DrillSpec;

/** What a check found (stored as the run's details). */
export interface CheckDetails {
  readDataPct: number;
  packsChecked: number;
  blobsChecked: number;
  snapshots: number;
  unindexedPacks: number;
  /** The first problems (at most 100) and their total. */
  problems: { object: string; message: string }[];
  problemCount: number;
}

/** What a drill found (stored as the run's details). */
export interface DrillDetails {
  snapshotId: string;
  seed: string;
  /** Files that could have been picked, and the files and bytes picked. */
  candidates: number;
  files: number;
  bytes: number;
  /** Milliseconds from opening the repository to the sample being on disk. */
  restoreMs: number;
  /** Against the snapshot's content ids (every restored file). */
  restored: { filesChecked: number; bytesChecked: number; mismatches: DrillMismatch[] };
  /** Against the live source, where unchanged since the snapshot (others are skipped). */
  source: { filesChecked: number; bytesChecked: number; skipped: number; mismatches: DrillMismatch[] };
  /** Files the restore itself could not write (a damaged pack, say). */
  restoreErrors: DrillMismatch[];
}

export interface DrillMismatch {
  path: string;
  reason: string;
  detail: string;
}

export type VerifyMessage =
  | { type: "checked"; details: CheckDetails }
  | { type: "drilled"; details: DrillDetails };

export function isVerifySpec(spec: object): spec is VerifySpec {
  return "kind" in spec && (spec.kind === "check" || spec.kind === "drill");
}
