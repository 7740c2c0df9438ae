/**
 * restore(): recreate a snapshot (or parts of it) under a target directory. Snapshot path /a/b is
 * restored to <target>/a/b. Files, directories (empty ones too), symlinks, modes, mtimes, and
 * owners when running as root (best effort). Directory metadata is applied last, deepest first,
 * so writing their contents does not disturb their mtimes. Tree entries that could escape the
 * target are refused, whatever the tree loader let through. Rerunning skips files already correct.
 */
import { CancelledError, throwIfAborted, ValidationError } from "../util/errors.ts";
import { createProgress } from "./progress.ts";
import { createOpenPool } from "./repository/open-pool.ts";
import { isPackSource, type PackSource } from "./repository/pack-reader.ts";
import { startCount } from "./restore/count.ts";
import { applyDirMeta, ensureDir, restoreSymlink } from "./restore/fs-ops.ts";
import { linkOne } from "./restore/link-one.ts";
import { LinkCounter } from "./restore/links.ts";
import { type BatchOptions, restoreBatch } from "./restore/plan.ts";
import { fail, isFatal, type Run } from "./restore/run.ts";
import { createSelector, pathMatches, splitSnapshotPath } from "./restore/select.ts";
import { type FileJob, HandleBudget } from "./restore/sink.ts";
import { openTarget } from "./restore/target-dirs.ts";
import { TreeFeed } from "./restore/trees.ts";
import type { RestoreOptions, RestoreSummary } from "./restore/types.ts";
import { joinBytes, nameToBytes } from "./scan/names.ts";
import { badName } from "./tree.ts";
import type { BlobId, Repository, Snapshot, Tree, TreeNode } from "./types.ts";

export type { RestoreOptions, RestoreSummary } from "./restore/types.ts";

/** Subtrees of a directory's children loaded a few ahead of the walk (trees are small GETs). */
function prefetcher(run: Run, nodes: TreeNode[], comps: string[]) {
  const ids: Array<BlobId | undefined> = nodes.map((n) =>
    n.type === "dir" && n.subtree && !badName(n.name) && run.select([...comps, n.name], true) !== "none"
      ? n.subtree
      : undefined,
  );
  const loads = new Map<number, Promise<Tree>>();
  let next = 0;
  const fill = (upTo: number) => {
    for (; next < ids.length && next <= upTo; next++) {
      const id = ids[next];
      if (!id) continue;
      const p = run.trees.take(id, run.signal);
      p.catch(() => {});
      loads.set(next, p);
    }
  };
  return (i: number): Promise<Tree> | undefined => {
    fill(i + TREE_PREFETCH);
    const p = loads.get(i);
    loads.delete(i);
    return p;
  };
}

const TREE_PREFETCH = 8;

async function restoreTree(run: Run, load: Promise<Tree>, dir: Buffer, comps: string[]): Promise<void> {
  let nodes: TreeNode[];
  try {
    nodes = (await load).nodes;
  } catch (e) {
    if (isFatal(run, e)) throw e;
    fail(run, `/${comps.join("/")}`, e);
    return;
  }
  const subtree = prefetcher(run, nodes, comps);
  // A name twice in one listing (never written by backapp; the loader rejects it) could turn a
  // directory restored a moment ago into a symlink before its queued files are written: refuse.
  const seen = new Set<string>();
  for (const [i, node] of nodes.entries()) {
    throwIfAborted(run.signal);
    if (run.fatal) throw run.fatal;
    if (seen.has(node.name)) {
      fail(run, `/${[...comps, String(node.name)].join("/")}`, new Error("refusing duplicate tree entry"));
      continue;
    }
    seen.add(node.name);
    await restoreNode(run, node, dir, comps, subtree(i));
  }
}

async function restoreNode(
  run: Run,
  node: TreeNode,
  dir: Buffer,
  comps: string[],
  subtree: Promise<Tree> | undefined,
): Promise<void> {
  const display = `/${[...comps, String(node.name)].join("/")}`;
  const bad = badName(node.name);
  if (bad) return fail(run, display, new Error(`refusing unsafe tree entry: ${bad}`));
  const path = [...comps, node.name];
  const sel = run.select(path, node.type === "dir");
  if (sel === "none") return;
  for (const inc of run.unmet) if (pathMatches(splitSnapshotPath(inc), path)) run.unmet.delete(inc);
  const name = nameToBytes(node.name);
  const full = joinBytes(dir, name);
  try {
    if (node.type === "dir") {
      ensureDir(run.target, full);
      await run.options.afterDirMade?.(full.toString());
      run.dirs.push({ path: full, node, display });
      run.summary.dirs++;
      if (node.subtree)
        await restoreTree(run, subtree ?? run.trees.take(node.subtree, run.signal), full, path);
    } else if (sel !== "all") {
      return;
    } else if (node.type === "symlink") {
      restoreSymlink(run.target, full, nameToBytes(node.target ?? ""), node);
      run.summary.symlinks++;
    } else if (node.type === "file") {
      const job: FileJob = { dirs: run.target, node, dir, name, path: full, display };
      // A follower of a hard link group is linked once its leader is in place (linkAll).
      if (run.links?.route(job) !== "link") await addFile(run, job);
    } else {
      fail(run, display, new Error(`unknown node type ${JSON.stringify(node.type)}`));
    }
  } catch (e) {
    if (isFatal(run, e)) throw e;
    fail(run, display, e);
  }
}

/** Files are restored in batches (pack-ordered inside each), one batch while the walk fills the next. */
const BATCH_FILES = 2048;
const BATCH_BLOBS = 4096;

async function addFile(run: Run, job: FileJob): Promise<void> {
  const n = job.node.content?.length ?? 0;
  const perBatch = Math.max(1, run.options.batchBlobs ?? BATCH_BLOBS);
  if (n <= perBatch) {
    run.batch.push(job);
    run.batchBlobs += n;
    if (run.batch.length >= BATCH_FILES || run.batchBlobs >= perBatch) await dispatch(run);
    return;
  }
  // A big file goes in slices, one batch each, so a plan never holds more than a batch of blobs.
  await dispatch(run);
  const state = { sink: null, offset: 0, done: false };
  for (let first = 0; first < n && !state.done; first += perBatch) {
    run.batch.push({ ...job, segment: { first, count: Math.min(perBatch, n - first), state } });
    await dispatch(run);
  }
}

/** Waits for the running batch, then starts the filled one. */
async function dispatch(run: Run): Promise<void> {
  const jobs = run.batch;
  run.batch = [];
  run.batchBlobs = 0;
  try {
    await run.running;
  } catch (e) {
    run.fatal ??= e;
    throw e;
  }
  if (jobs.length === 0) return;
  run.running = restoreBatch(jobs, batchOptions(run));
  run.running.catch(() => {});
}

function batchOptions(run: Run): BatchOptions {
  const progress = run.progress;
  return {
    repo: run.source,
    verify: run.options.verify ?? false,
    overwrite: run.options.overwrite ?? "if-changed",
    signal: run.signal,
    readers: run.options.concurrency,
    handles: run.handles,
    opener: run.opener ? (e, stored) => run.opener!.open(e, stored) : undefined,
    events: {
      started: (job) => progress.fileStarted(job.display),
      skipped(job) {
        if (job.group) job.group.leaderOk = true;
        run.summary.files_skipped++;
        run.summary.bytes_skipped += job.node.size;
        if (run.options.verify) run.summary.files_verified++;
        run.options.onFile?.(job.display, "unchanged", job.node.size);
        progress.addBytes(job.node.size);
        progress.fileDone(job.display);
        progress.tick();
      },
      restored(job) {
        if (job.group) job.group.leaderOk = true;
        run.summary.files_restored++;
        run.summary.bytes_written += job.node.size;
        if (run.options.verify) run.summary.files_verified++;
        run.options.onFile?.(job.display, "restored", job.node.size);
        progress.fileDone(job.display);
        progress.tick();
      },
      failed(job, error) {
        if (job.group) job.group.leaderOk = false;
        fail(run, job.display, error);
        progress.fileDone(job.display);
        progress.tick();
      },
      bytes: (n) => progress.addBytes(n),
    },
  };
}

function packSource(repo: Repository): Repository & PackSource {
  if (!isPackSource(repo)) throw new ValidationError("restore needs a repository that supports pack reads");
  return repo;
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
    files_linked: 0,
    duration_ms: 0,
    errors: [],
    notices: [],
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
  const select = createSelector(options.includes, options.excludes);
  const progress = createProgress({
    operation: "restore",
    listener: options.onProgress,
    intervalMs: options.progressIntervalMs,
  });
  const dirs = options.targetDirs ?? openTarget(options.target, undefined, options.within);
  const run: Run = {
    repo,
    target: dirs,
    options,
    signal,
    select,
    progress,
    source: packSource(repo),
    batch: [],
    batchBlobs: 0,
    running: Promise.resolve(),
    handles: new HandleBudget(64),
    trees: new TreeFeed(repo, signal),
    dirs: [],
    summary: emptySummary(),
    fatal: null,
    unmet: new Set(
      (options.includes ?? []).map((i) => `/${splitSnapshotPath(i).join("/")}`).filter((i) => i !== "/"),
    ),
    counter: new LinkCounter(),
    links: null,
    opener: createOpenPool(repo, options.openWorkers),
  };
  const count = startCount(run, snapshot.tree);
  try {
    // Hard link groups must be known before the first file of one is met.
    await count.done;
    run.links = run.counter.seal();
    await restoreTree(run, run.trees.take(snapshot.tree, signal), dirs.root, []);
    await dispatch(run);
    await run.running;
    await linkAll(run);
    await finishDirs(run);
    reportMissingIncludes(run);
  } catch (e) {
    await run.running.catch(() => {});
    throw signal.aborted ? new CancelledError("restore cancelled", { cause: e }) : e;
  } finally {
    await count.stop();
    run.opener?.close();
    progress.finish();
    if (!options.targetDirs) dirs.close();
  }
  run.summary.duration_ms = Date.now() - started;
  return run.summary;
}

async function finishDirs(run: Run): Promise<void> {
  for (const d of run.dirs.reverse()) {
    throwIfAborted(run.signal);
    try {
      applyDirMeta(run.target, d.path, d.node);
    } catch (e) {
      fail(run, d.display, e);
    }
  }
}

/** An include that matched nothing is reported as an error (a typo should not look like success). */
function reportMissingIncludes(run: Run): void {
  for (const inc of run.unmet) fail(run, inc, new Error("not found in the snapshot"));
}

/**
 * Links every hard link follower to its group's leader, after all batches (so leaders are in
 * place) and before directory metadata (so read-only directories can still be written). When a
 * leader could not be restored, its followers are restored as files of their own.
 */
async function linkAll(run: Run): Promise<void> {
  for (const group of run.links?.withFollowers() ?? []) {
    if (group.leaderOk !== true) {
      for (const f of group.followers) await addFile(run, f);
      continue;
    }
    for (const f of group.followers) {
      throwIfAborted(run.signal);
      await linkOne(run, group.leader, f);
    }
  }
  await dispatch(run);
  await run.running;
}
