/** Options and result of restore(). */
import type { FileError, ProgressListener } from "../types.ts";
import type { TargetDirs } from "./target-dirs.ts";

export type OverwriteMode = "always" | "if-changed" | "if-newer" | "never";

export interface RestoreOptions {
  /** Directory to restore into (created if missing). Snapshot path /a/b lands at <target>/a/b. */
  target: string;
  /**
   * Sub-paths of the snapshot to restore ("/home/me/docs"); default everything. Their ancestor
   * directories are created too.
   */
  includes?: string[];
  /** Snapshot paths to leave out (patterns as in docs/patterns.md, matched against "/a/b"). */
  excludes?: string[];
  /** Re-read each restored (or skipped) file and check it against its blob ids. */
  verify?: boolean;
  /**
   * What to do with a file already in the target: "if-changed" (default) rewrites it unless its
   * size, mtime, mode and content (re-chunked locally, nothing downloaded) already match;
   * "always" rewrites every file; "if-newer" only files older than the snapshot's; "never" keeps
   * every existing file as it is.
   */
  overwrite?: OverwriteMode;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  onError?: (error: FileError) => void;
  /** Notes that are not errors (a hard link restored as a copy where links are refused). */
  onNotice?: (notice: FileError) => void;
  /** Each file once handled: written (or linked), or already correct in the target. */
  onFile?: (path: string, action: "restored" | "unchanged", size: number) => void;
  /** Pack ranges read at once (default 6); memory is about one blob per range in flight. */
  concurrency?: number;
  progressIntervalMs?: number;
  /**
   * Blobs planned per batch (default 4096): bounds the plan's memory; a file with more blobs is
   * restored in slices of this many.
   */
  batchBlobs?: number;
  /**
   * Worker threads opening (decrypting, decompressing, checking) the bigger blobs; 0 opens every
   * blob on the main thread. Default: none below 4 cores, else the cores beyond two, at most 3.
   */
  openWorkers?: number;
  /**
   * The target already open (a staging folder opened from its parent's descriptor); the caller
   * closes it. Default: `target` is created if missing and opened here.
   */
  targetDirs?: TargetDirs;
  /**
   * Folders the target must be inside when it is opened (checked on the opened folder's own path,
   * with symlinks resolved): a target that became a symlink to elsewhere after a server checked it
   * is refused (ValidationError). Default: anywhere.
   */
  within?: string[];
  /**
   * Called with each folder's path right after it is made (or found) and before anything is
   * written in it; awaited. For tests that replace a folder mid-restore (the restore must never
   * write through what replaced it).
   */
  afterDirMade?: (path: string) => void | Promise<void>;
}

export interface RestoreSummary {
  files_restored: number;
  /** Files already correct in the target (size, mtime, mode and, as root, owner match; content too with verify). */
  files_skipped: number;
  dirs: number;
  symlinks: number;
  bytes_written: number;
  bytes_skipped: number;
  /** Files whose content was checked against their blob ids (verify). */
  files_verified: number;
  /**
   * Of files_restored, those made hard links to another restored file (no bytes written). A
   * path already linked correctly counts in files_skipped.
   */
  files_linked: number;
  duration_ms: number;
  errors: FileError[];
  /** Hard links restored as copies because the file system refused link(2); not errors. */
  notices: FileError[];
}
