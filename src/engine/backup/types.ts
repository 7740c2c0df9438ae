/** Options and result of backup(). */
import type { ScanOptions } from "../scan/walk.ts";
import type { FileError, ProgressListener, Snapshot, SnapshotSummary } from "../types.ts";
import type { WalkAhead } from "./ahead.ts";

/** What happened to one backed-up file, for verbose listings (`backup -v`). */
export type FileListener = (path: string, status: "new" | "changed" | "unmodified", size: number) => void;

/** Besides these, ScanOptions: oneFileSystem and excludeIfPresent. */
export interface BackupOptions extends ScanOptions {
  /** Exclude patterns (docs/patterns.md). */
  excludes?: string[];
  /** Include patterns: when given, only matching entries (and directories leading to them) are saved. */
  includes?: string[];
  /** Do not store extended attributes (they are stored in format-2 repositories otherwise). */
  noXattrs?: boolean;
  /** Re-read every file, ignoring the parent snapshot's metadata. */
  full?: boolean;
  tags?: string[];
  /** Default: os.hostname(). */
  hostname?: string;
  /** Default: the current user's name. */
  username?: string;
  /** Snapshot to compare against for unchanged files (the CLI picks the latest with same host and paths). */
  parent?: Snapshot | null;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  /** Each per-file error, as it happens (also in summary.errors). */
  onError?: (error: FileError) => void;
  /** Skipped special files and files that changed while read: informative, not errors. */
  onNotice?: (notice: FileError) => void;
  /** Each file as it is stored: new, changed (content differs from the parent's) or unmodified. */
  onFile?: FileListener;
  /** Files read at once (default 8: small files on a cold cache wait on the disk, not the CPU). */
  readConcurrency?: number;
  /** Interval between progress events in ms (default 250). */
  progressIntervalMs?: number;
  /**
   * The walk, already started with startWalk() on the same paths and options (while the
   * repository was being opened); backup() takes its entries and stops it when done.
   */
  walk?: WalkAhead;
  /** Base for relative paths (default process.cwd()). */
  cwd?: string;
  /** Clock for the snapshot time and duration (default Date.now). */
  now?: () => number;
}

export interface BackupResult {
  snapshot: Snapshot;
  summary: SnapshotSummary;
  /** Skipped special files and files that changed while being read. */
  notices: FileError[];
}
