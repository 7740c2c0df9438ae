/**
 * What the in-process bus carries. Every event names the user it belongs to (a stream shows a
 * user only their own events) and, where there is one, the job (configId) and the run (logId).
 */
import type { BackupLogStatus } from "../db/backup-logs.ts";

/** Counters of a running backup, as the run's child process reports them. */
export interface RunProgress {
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
  /** Bytes per second over the recent window. */
  rate: number;
  /** Seconds left, or null when unknown. */
  eta: number | null;
  errors: number;
  /** Bytes stored in the repository so far (backups; absent where not counted). */
  bytesUploaded?: number;
  /** Files being read now. */
  current: string[];
}

interface Base {
  userId: string;
  configId: string | null;
  logId: string | null;
  /** Milliseconds since the epoch (the server's Clock). */
  at: number;
}

export type BusEvent =
  | (Base & { type: "run.queued"; trigger: string })
  | (Base & { type: "run.started" })
  | (Base & { type: "run.progress"; progress: RunProgress })
  | (Base & { type: "run.file-error"; path: string; message: string })
  | (Base & {
      type: "run.finished";
      status: BackupLogStatus;
      snapshotId: string | null;
      reason: string | null;
    })
  | (Base & { type: "config.changed" })
  | (Base & { type: "alert.raised"; alertId: string; kind: string; message: string })
  | (Base & { type: "alert.resolved"; alertId: string; kind: string });

export type BusEventType = BusEvent["type"];

/**
 * Events a slow subscriber may lose: progress (only the newest matters) and per-file errors (a run
 * with a million unreadable files must not grow a queue without bound; the run's row keeps them).
 * All others are delivered even when the subscriber's queue is full, so a stream always learns
 * how a run ended.
 */
export function isDroppable(event: BusEvent): boolean {
  return event.type === "run.progress" || event.type === "run.file-error";
}
