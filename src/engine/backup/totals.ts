/**
 * Progress totals of a backup that has a parent snapshot, without a second walk of the source to
 * count them: the parent's totals, corrected as the walk goes. Counting walked the whole tree again
 * (an lstat per file), a quarter of an unchanged re-backup's time.
 *
 * The estimate starts at the parent summary's files and bytes, which are exact when nothing
 * changed. Each file the walk finds moves it by its difference to the parent's node (a new file
 * adds itself, a changed size adds the difference) before the file is read, so bytes done never
 * pass the total; each directory left subtracts the parent's files that were not found in it. A
 * directory removed since the parent is not visited, so the estimate stays high there until the
 * walk ends and the exact totals of what was walked are set.
 */
import type { Progress } from "../progress.ts";
import type { Snapshot, TreeNode } from "../types.ts";
import type { ParentDir } from "./parent.ts";

/** Files and file bytes of what the walk found in one directory that the parent also had. */
export interface Matched {
  files: number;
  bytes: number;
}

export interface Totals {
  /** A file the walk found; `prev` is its node in the parent directory, if any. */
  found(prev: TreeNode | undefined, size: number, matched: Matched): void;
  /** A directory the walk left: the parent's files not matched there are gone. */
  left(parent: ParentDir, matched: Matched): void;
  /** The walk ended: the totals become exact (what the walk found). */
  finish(): void;
}

/** Minimum ms between two corrected "scan" events (each one is a line of `backup --json`). */
const EMIT_INTERVAL_MS = 1000;

function count(n: unknown): n is number {
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
}

/** The parent's file and byte totals, or null when its summary does not say. */
export function parentTotals(parent: Snapshot | null | undefined): { files: number; bytes: number } | null {
  const s = parent?.summary;
  if (!s) return null;
  const files = s.files_new + s.files_changed + s.files_unmodified;
  return count(files) && count(s.bytes_processed) ? { files, bytes: s.bytes_processed } : null;
}

/** Totals estimated from `start` (the parent's), reported to `progress` as "scan" events. */
export function estimatedTotals(
  progress: Progress,
  start: { files: number; bytes: number },
  now: () => number = Date.now,
): Totals {
  let files = start.files;
  let bytes = start.bytes;
  let walkedFiles = 0;
  let walkedBytes = 0;
  let shown = { files, bytes };
  let last = now();
  progress.scan(files, bytes, true);
  const maybeEmit = () => {
    if (files === shown.files && bytes === shown.bytes) return;
    if (now() - last < EMIT_INTERVAL_MS) return;
    last = now();
    shown = { files, bytes };
    progress.scan(Math.max(0, files), Math.max(0, bytes), true);
  };
  return {
    found(prev, size, matched) {
      walkedFiles++;
      walkedBytes += size;
      if (prev?.type === "file") {
        matched.files++;
        matched.bytes += prev.size;
        bytes += size - prev.size;
      } else {
        files++;
        bytes += size;
      }
      maybeEmit();
    },
    left(parent, matched) {
      if (!parent) return;
      let parentFiles = 0;
      let parentBytes = 0;
      for (const n of parent.values()) {
        if (n.type !== "file") continue;
        parentFiles++;
        parentBytes += n.size;
      }
      files -= parentFiles - matched.files;
      bytes -= parentBytes - matched.bytes;
      maybeEmit();
    },
    finish() {
      progress.scan(walkedFiles, walkedBytes, true);
    },
  };
}
