/**
 * backup(): scan the given paths, store changed file content and the trees, then write a snapshot.
 * Write order is packs → index (repo.flush) → snapshot, so a crash or cancellation never leaves a
 * snapshot that points at missing data. Per-file errors are collected and the snapshot is still
 * written; the caller decides the exit status from summary.errors.
 */
import { lstat } from "node:fs/promises";
import { hostname as osHostname, userInfo } from "node:os";
import { CancelledError, NotFoundError } from "../util/errors.ts";
import { version } from "../util/version.ts";
import { type WalkAhead, walkAhead } from "./backup/ahead.ts";
import { Archiver } from "./backup/archiver.ts";
import { estimatedTotals, parentTotals } from "./backup/totals.ts";
import type { BackupOptions, BackupResult } from "./backup/types.ts";
import { createProgress, type Progress } from "./progress.ts";
import { createPathFilter, type PathFilter } from "./scan/patterns.ts";
import { normalizePaths } from "./scan/roots.ts";
import { countTotals, type ScanOptions, walkBatches } from "./scan/walk.ts";
import { snapshotTags } from "./snapshot-filter.ts";
import type { FileError, Repository, SnapshotSummary } from "./types.ts";

export type { BackupOptions, BackupResult } from "./backup/types.ts";

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return "";
  }
}

/** Runs the counting walk beside the backup; it only feeds progress totals. */
function startScan(
  paths: string[],
  filter: PathFilter,
  progress: Progress,
  signal: AbortSignal,
  scan: ScanOptions,
) {
  const stop = new AbortController();
  const both = AbortSignal.any([signal, stop.signal]);
  const done = countTotals(paths, filter, both, (f, b) => progress.scan(f, b, false), scan)
    .then((t) => progress.scan(t.files, t.bytes, true))
    .catch(() => {});
  return async () => {
    stop.abort();
    await done;
  };
}

/**
 * NotFoundError when not one of the given paths exists: a snapshot of nothing (and exit code 3)
 * would hide a typo or an unmounted disk. When only some are missing, each is a per-file error.
 */
async function requireSomePath(roots: string[]): Promise<void> {
  const missing = async (p: string) =>
    lstat(p).then(
      () => false,
      (e: NodeJS.ErrnoException) => e.code === "ENOENT" || e.code === "ENOTDIR",
    );
  const gone = await Promise.all(roots.map(missing));
  if (roots.length > 0 && gone.every(Boolean)) {
    const what = roots.length === 1 ? `${roots[0]} does not exist` : `none of ${roots.join(", ")} exists`;
    throw new NotFoundError(`nothing to back up: ${what}`);
  }
}

/**
 * Starts the walk of a backup of `paths` before the repository is open (see backup/ahead.ts);
 * pass it to backup() with the same paths and options. ValidationError for bad patterns. Stop it
 * when backup() is not called after all (backup() stops it itself).
 */
export function startWalk(paths: string[], options: BackupOptions = {}): WalkAhead {
  const filter = createPathFilter({ excludes: options.excludes, includes: options.includes });
  const controller = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
  return walkAhead(walkBatches(normalizePaths(paths, options.cwd), filter, signal, options), controller);
}

/**
 * Backs up `paths` (absolute or relative to options.cwd) into `repo`. Returns the new snapshot and
 * its summary. Throws CancelledError when options.signal fires (no snapshot is written; the
 * packs uploaded so far are indexed, so the next backup reuses them),
 * ValidationError for bad patterns, NotFoundError when none of the paths exists, and repository
 * errors as they come.
 */
export async function backup(
  repo: Repository,
  paths: string[],
  options: BackupOptions = {},
): Promise<BackupResult> {
  try {
    return await run(repo, paths, options);
  } finally {
    options.walk?.stop();
  }
}

async function run(repo: Repository, paths: string[], options: BackupOptions): Promise<BackupResult> {
  const now = options.now ?? Date.now;
  const started = now();
  const signal = options.signal ?? new AbortController().signal;
  const filter = createPathFilter({ excludes: options.excludes, includes: options.includes });
  const roots = normalizePaths(paths, options.cwd);
  await requireSomePath(roots);
  const errors: FileError[] = [];
  const notices: FileError[] = [];
  let reading = true;
  const progress = createProgress({
    operation: "backup",
    listener: options.onProgress,
    intervalMs: options.progressIntervalMs,
    now,
    // Data read but still queued for sealing and upload is not "done"; after the walk, the last
    // packs are sealed and sent (flush): hold at least a byte back until that ends.
    unsettled: () => Math.max(repo.bufferedBytes?.() ?? 0, reading ? 0 : 1),
  });
  // With a parent, its summary gives the totals (corrected as the walk goes): no second walk.
  const estimate = parentTotals(options.parent);
  const totals = estimate ? estimatedTotals(progress, estimate, now) : undefined;
  const stopScan = totals ? async () => {} : startScan(roots, filter, progress, signal, options);
  const readsXattrs = !options.noXattrs && repo.storesXattrs === true;
  const archiver = new Archiver(
    {
      repo,
      signal,
      full: options.full ?? false,
      readConcurrency: options.readConcurrency ?? 8,
      progress,
      onError: (e) => {
        errors.push(e);
        options.onError?.(e);
      },
      onNotice: (n) => {
        notices.push(n);
        options.onNotice?.(n);
      },
      totals,
      onFile: options.onFile,
      xattrs: readsXattrs,
      parentReadXattrs: options.parent?.xattrs === true,
    },
    options.parent?.tree,
  );
  try {
    const batches = options.walk?.batches() ?? walkBatches(roots, filter, signal, options);
    for await (const batch of batches) {
      for (const entry of batch) {
        // Most entries of a re-backup are settled synchronously: await only those that wait.
        const wait = archiver.consume(entry);
        if (wait) await wait;
      }
    }
    totals?.finish();
    reading = false;
    await repo.flush(signal);
  } catch (e) {
    await archiver.drain();
    // What was uploaded stays useful: indexed, the next backup reuses it instead of sending it again.
    await repo.indexUploaded?.();
    throw signal.aborted ? new CancelledError("backup cancelled", { cause: e }) : e;
  } finally {
    await stopScan();
    progress.finish();
  }
  const summary: SnapshotSummary = { ...archiver.counters, duration_ms: now() - started, errors };
  const snapshot = await repo.saveSnapshot(
    {
      time: new Date(started).toISOString(),
      hostname: options.hostname ?? osHostname(),
      username: options.username ?? currentUser(),
      paths: roots,
      // "--tag a,b" is two tags (restic): a stored tag never holds a comma.
      tags: snapshotTags(options.tags ?? []),
      parent: options.parent?.id ?? null,
      tree: archiver.root,
      program_version: `backapp ${version}`,
      summary,
      ...(readsXattrs ? { xattrs: true } : {}),
    },
    signal,
  );
  return { snapshot, summary, notices };
}
