/**
 * restore(): recreate a snapshot (or parts of it) under a target directory. Snapshot path /a/b is
 * restored to <target>/a/b. Files, directories (empty ones too), symlinks, modes, mtimes, and
 * owners when running as root (best effort). Directory metadata is applied last, deepest first,
 * so writing their contents does not disturb their mtimes. Tree entries that could escape the
 * target are refused, whatever the tree loader let through. Rerunning skips files already correct.
 */
import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import { CancelledError, throwIfAborted } from "../util/errors.ts";
import { Limiter } from "./backup/limiter.ts";
import { createProgress, type Progress } from "./progress.ts";
import { restoreFile } from "./restore/file.ts";
import { applyDirMeta, ensureDir, restoreSymlink } from "./restore/fs-ops.ts";
import { createSelector, type Selection, splitSnapshotPath } from "./restore/select.ts";
import type { RestoreOptions, RestoreSummary } from "./restore/types.ts";
import { joinBytes, nameToBytes } from "./scan/names.ts";
import { badName } from "./tree.ts";
import type { BlobId, FileError, Repository, Snapshot, TreeNode } from "./types.ts";

export type { RestoreOptions, RestoreSummary } from "./restore/types.ts";

interface Run {
  repo: Repository;
  options: RestoreOptions;
  signal: AbortSignal;
  select: (path: string[]) => Selection;
  progress: Progress;
  limiter: Limiter;
  /** File writes in flight (removed as they finish, so memory does not grow with the file count). */
  pending: Set<Promise<void>>;
  /** Directories to finish (metadata), in creation order; applied in reverse. */
  dirs: Array<{ path: Buffer; node: TreeNode; display: string }>;
  summary: RestoreSummary;
  fatal: unknown;
  /** Normalized includes ("/a/b") not met yet. */
  unmet: Set<string>;
}

function fail(run: Run, path: string, e: unknown): void {
  const message = e instanceof Error ? e.message : String(e);
  const error: FileError = { path, message };
  run.summary.errors.push(error);
  run.progress.error(path, message);
  run.options.onError?.(error);
}

function isFatal(run: Run, e: unknown): boolean {
  return e instanceof CancelledError || run.signal.aborted;
}

/** Counts the selected files and bytes, for progress totals. */
async function countTree(run: Run, id: BlobId, comps: string[], acc: { files: number; bytes: number }) {
  const tree = await run.repo.loadTree(id, run.signal);
  for (const node of tree.nodes) {
    if (badName(node.name)) continue;
    const path = [...comps, node.name];
    const sel = run.select(path);
    if (sel === "none") continue;
    if (node.type === "dir" && node.subtree) await countTree(run, node.subtree, path, acc);
    else if (node.type === "file" && sel === "all") {
      acc.files++;
      acc.bytes += node.size;
    }
  }
}

function startCount(run: Run, root: BlobId): () => Promise<void> {
  const stop = new AbortController();
  const sub: Run = { ...run, signal: AbortSignal.any([run.signal, stop.signal]) };
  const acc = { files: 0, bytes: 0 };
  const done = countTree(sub, root, [], acc)
    .then(() => run.progress.scan(acc.files, acc.bytes, true))
    .catch(() => {});
  return async () => {
    stop.abort();
    await done;
  };
}

async function restoreTree(run: Run, id: BlobId, dir: Buffer, comps: string[]): Promise<void> {
  let nodes: TreeNode[];
  try {
    nodes = (await run.repo.loadTree(id, run.signal)).nodes;
  } catch (e) {
    if (isFatal(run, e)) throw e;
    fail(run, `/${comps.join("/")}`, e);
    return;
  }
  for (const node of nodes) {
    throwIfAborted(run.signal);
    if (run.fatal) throw run.fatal;
    await restoreNode(run, node, dir, comps);
  }
}

async function restoreNode(run: Run, node: TreeNode, dir: Buffer, comps: string[]): Promise<void> {
  const display = `/${[...comps, String(node.name)].join("/")}`;
  const bad = badName(node.name);
  if (bad) return fail(run, display, new Error(`refusing unsafe tree entry: ${bad}`));
  const path = [...comps, node.name];
  const sel = run.select(path);
  if (sel === "none") return;
  run.unmet.delete(display);
  const name = nameToBytes(node.name);
  const full = joinBytes(dir, name);
  try {
    if (node.type === "dir") {
      await ensureDir(full);
      run.dirs.push({ path: full, node, display });
      run.summary.dirs++;
      if (node.subtree) await restoreTree(run, node.subtree, full, path);
    } else if (sel !== "all") {
      return;
    } else if (node.type === "symlink") {
      await restoreSymlink(full, nameToBytes(node.target ?? ""), node);
      run.summary.symlinks++;
    } else if (node.type === "file") {
      await startFile(run, node, dir, name, full, display);
    } else {
      fail(run, display, new Error(`unknown node type ${JSON.stringify(node.type)}`));
    }
  } catch (e) {
    if (isFatal(run, e)) throw e;
    fail(run, display, e);
  }
}

async function startFile(run: Run, node: TreeNode, dir: Buffer, name: Buffer, full: Buffer, display: string) {
  const release = await run.limiter.acquire();
  const ctx = {
    repo: run.repo,
    verify: run.options.verify ?? false,
    signal: run.signal,
    onBytes: (n: number) => run.progress.addBytes(n),
  };
  run.progress.fileStarted(display);
  const task = restoreFile(ctx, dir, name, full, node)
    .then((r) => {
      if (r.written) {
        run.summary.files_restored++;
        run.summary.bytes_written += r.bytes;
      } else {
        run.summary.files_skipped++;
        run.summary.bytes_skipped += r.bytes;
        run.progress.addBytes(r.bytes);
      }
      if (r.verified) run.summary.files_verified++;
    })
    .catch((e: unknown) => {
      if (isFatal(run, e)) run.fatal ??= e;
      else fail(run, display, e);
    })
    .finally(() => {
      run.progress.fileDone(display);
      release();
    });
  run.pending.add(task);
  void task.then(() => run.pending.delete(task));
}

function emptySummary(): RestoreSummary {
  return {
    files_restored: 0,
    files_skipped: 0,
    dirs: 0,
    symlinks: 0,
    bytes_written: 0,
    bytes_skipped: 0,
    files_verified: 0,
    duration_ms: 0,
    errors: [],
  };
}

/**
 * Restores `snapshot` into options.target. Per-file problems (unwritable path, damaged blob,
 * unsafe name) go to summary.errors and onError; the run continues. Throws CancelledError when
 * options.signal fires (files already renamed into place stay; a rerun resumes).
 */
export async function restore(
  repo: Repository,
  snapshot: Snapshot,
  options: RestoreOptions,
): Promise<RestoreSummary> {
  const started = Date.now();
  const signal = options.signal ?? new AbortController().signal;
  const select = createSelector(options.includes);
  const progress = createProgress({
    operation: "restore",
    listener: options.onProgress,
    intervalMs: options.progressIntervalMs,
  });
  const run: Run = {
    repo,
    options,
    signal,
    select,
    progress,
    limiter: new Limiter(Math.max(1, options.concurrency ?? 4)),
    pending: new Set(),
    dirs: [],
    summary: emptySummary(),
    fatal: null,
    unmet: new Set(
      (options.includes ?? []).map((i) => `/${splitSnapshotPath(i).join("/")}`).filter((i) => i !== "/"),
    ),
  };
  const target = Buffer.from(resolve(options.target));
  const stopCount = startCount(run, snapshot.tree);
  try {
    await mkdir(target, { recursive: true });
    await restoreTree(run, snapshot.tree, target, []);
    while (run.pending.size > 0) await Promise.all([...run.pending]);
    if (run.fatal) throw run.fatal;
    await finishDirs(run);
    reportMissingIncludes(run);
  } catch (e) {
    await Promise.allSettled([...run.pending]);
    throw signal.aborted ? new CancelledError("restore cancelled", { cause: e }) : e;
  } finally {
    await stopCount();
    progress.finish();
  }
  run.summary.duration_ms = Date.now() - started;
  return run.summary;
}

async function finishDirs(run: Run): Promise<void> {
  for (const d of run.dirs.reverse()) {
    throwIfAborted(run.signal);
    await applyDirMeta(d.path, d.node).catch((e: unknown) => fail(run, d.display, e));
  }
}

/** An include that matched nothing is reported as an error (a typo should not look like success). */
function reportMissingIncludes(run: Run): void {
  for (const inc of run.unmet) fail(run, inc, new Error("not found in the snapshot"));
}
