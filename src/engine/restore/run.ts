/**
 * The state of one restore() call, shared by restore.ts and the helpers it hands work to, and the
 * two ways a per-file problem is judged: reported and skipped (fail), or fatal (isFatal: the run
 * was cancelled or already failed as a whole).
 */
import { CancelledError } from "../../util/errors.ts";
import type { Progress } from "../progress.ts";
import type { OpenPool } from "../repository/open-pool.ts";
import type { PackSource } from "../repository/pack-reader.ts";
import type { FileError, Repository, TreeNode } from "../types.ts";
import type { LinkCounter, LinkGroups } from "./links.ts";
import type { Selector } from "./select.ts";
import type { FileJob, HandleBudget } from "./sink.ts";
import type { TargetDirs } from "./target-dirs.ts";
import type { TreeFeed } from "./trees.ts";
import type { RestoreOptions, RestoreSummary } from "./types.ts";

export interface Run {
  repo: Repository;
  /** The target's folders, held open: every call below the target goes through it. */
  target: TargetDirs;
  source: Repository & PackSource;
  options: RestoreOptions;
  signal: AbortSignal;
  select: Selector;
  progress: Progress;
  /** Files gathered for the next batch. */
  batch: FileJob[];
  batchBlobs: number;
  /** The batch being restored. */
  running: Promise<void>;
  handles: HandleBudget;
  /** Trees loaded ahead by the counting pass. */
  trees: TreeFeed;
  /** Directories to finish (metadata), in creation order; applied in reverse. */
  dirs: Array<{ path: Buffer; node: TreeNode; display: string }>;
  summary: RestoreSummary;
  fatal: unknown;
  /** Normalized includes ("/a/b") not met yet. */
  unmet: Set<string>;
  /** Hard link candidates, filled by the counting pass; sealed into `links` before the walk. */
  counter: LinkCounter;
  links: LinkGroups | null;
  /** Workers opening the bigger blobs; null: all open inline. */
  opener: OpenPool | null;
}

export function fail(run: Run, path: string, e: unknown): void {
  const message = e instanceof Error ? e.message : String(e);
  const error: FileError = { path, message };
  run.summary.errors.push(error);
  run.progress.error(path, message);
  run.options.onError?.(error);
}

export function isFatal(run: Run, e: unknown): boolean {
  return e instanceof CancelledError || run.signal.aborted || run.fatal !== null;
}
