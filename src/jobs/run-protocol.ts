/**
 * The conversation between the server and a run's child process (`backapp __run`). The server
 * writes one JSON line with the RunSpec on the child's stdin (secrets travel only there, never in
 * argv or the environment), later maybe {"type":"cancel"}; the child answers with JSON lines on
 * stdout. Types only: both sides import this without loading the other.
 */
import type { RunProgress } from "../events/types.ts";
import type { DownloadSpec, StatsMessage, StatsSpec } from "./download-protocol.ts";
import type { RecoveryCopyMessage, RecoveryCopySpec } from "./recovery-copy-child.ts";
import type { RepositoryTargetSpec } from "./repository-access.ts";
import type { RestoreMessage, RestoreSpec } from "./restore-protocol.ts";
import type { VerifyMessage, VerifySpec } from "./verify-protocol.ts";

export interface RunSource {
  path: string;
  includePatterns: string[];
  excludePatterns: string[];
}

export interface RunSpec {
  logId: string;
  target: RepositoryTargetSpec;
  sources: RunSource[];
  /** Tags of the snapshot; the first one names the job so its retention touches only its snapshots. */
  tags: string[];
  /** Re-read every file instead of trusting the parent's metadata. */
  full: boolean;
  /** "off" or a zstd level. */
  compression: "off" | number;
  limitUploadKbps?: number;
  /** The job's retention (null: keep everything). */
  retention: {
    keepLast?: number;
    keepHourly?: number;
    keepDaily?: number;
    keepWeekly?: number;
    keepMonthly?: number;
    keepYearly?: number;
    retentionDays?: number | null;
  } | null;
  /** Prune after forget (the slower cadence says it is due). */
  prune: boolean;
  /** The recovery copy to keep in the repository after a successful backup (recovery-document.ts). */
  recoveryCopy?: string;
}

/** What the server writes first: a backup run, or another kind (restore, check, download, stats, recovery copy). */
export type ChildSpec = RunSpec | RestoreSpec | VerifySpec | DownloadSpec | StatsSpec | RecoveryCopySpec;

/** Server → child, after the spec. */
export type ChildCommand = { type: "cancel" };

/** Why a run failed, for the alert kind. */
export type FailureKind = "cancelled" | "destination" | "source" | "other";

/** Child → server, one per line. */
export type ChildMessage =
  | { type: "opened" }
  | { type: "progress"; progress: RunProgress }
  | { type: "file-error"; path: string; message: string }
  | {
      type: "backed-up";
      snapshotId: string;
      filesProcessed: number;
      filesSkipped: number;
      totalBytes: number;
      bytesTransferred: number;
    }
  | { type: "retention"; removed: number; pruned: boolean; problem: string | null }
  | { type: "failed"; kind: FailureKind; message: string }
  | RestoreMessage
  | VerifyMessage
  | StatsMessage
  | RecoveryCopyMessage;
