/**
 * The child process of one run (`backapp __run`): reads the RunSpec from stdin, backs up, applies
 * the job's retention (and prune when due), and reports JSON lines on stdout (run-protocol.ts).
 * It runs outside the server's event loop, so a busy or crashing backup never stalls or kills the
 * server. Cancel = {"type":"cancel"} on stdin, SIGTERM or SIGINT; a lost server (stdin closing, stdout
 * broken, or the child re-parented after the server was SIGKILLed) cancels too: the engine's
 * AbortSignal stops the run without writing a snapshot and releases the repository lock, and the
 * child exits on its own if that takes too long, so an orphan never keeps writing. Other kinds of
 * spec run a restore, a check or drill, storage statistics, a recovery copy, or a download (which
 * answers with a header line and then raw bytes: download-child.ts).
 */
import { hostname } from "node:os";
import { createInterface } from "node:readline";
import type { WalkAhead } from "../engine/backup/ahead.ts";
import { backup, startWalk } from "../engine/backup.ts";
import type { RepositoryImpl } from "../engine/repository/index.ts";
import { retentionFromConfig } from "../engine/retention.ts";
import { normalizePaths } from "../engine/scan/roots.ts";
import {
  CancelledError,
  LockedError,
  NotFoundError,
  PermanentStorageError,
  TransientStorageError,
  WrongPasswordError,
} from "../util/errors.ts";
import { runDownloadChild, runStatsChild } from "./download-child.ts";
import { isDownloadSpec, isStatsSpec } from "./download-protocol.ts";
import { findParent, forgetAndPrune, forgetLock, withOpened } from "./operations.ts";
import { isRecoveryCopySpec, runRecoveryCopyChild, storeRecoveryCopy } from "./recovery-copy-child.ts";
import { openSpecRepository } from "./repository-access.ts";
import { runRestoreChild } from "./restore-child.ts";
import { isRestoreSpec } from "./restore-protocol.ts";
import { reportTo } from "./run-progress.ts";
import type { ChildMessage, ChildSpec, FailureKind, RunSpec } from "./run-protocol.ts";
import { runVerifyChild } from "./verify-child.ts";
import { isVerifySpec } from "./verify-protocol.ts";

/** How often the child looks whether the server that started it is still its parent. */
const PARENT_POLL_MS = 500;
/** Once the server is gone, how long the cancelled run may take to clean up before the child exits anyway. */
const ORPHAN_EXIT_MS = 20_000;

/** How long prune waits for a conflicting lock (say a CLI restore) before giving up until next time. */
const PRUNE_LOCK_WAIT_MS = 60_000;

function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve) => process.stdout.write(`${JSON.stringify(message)}\n`, () => resolve()));
}

/** The first line of stdin is the spec; later lines are commands; EOF means the server is gone. */
function readStdin(abort: (why: string) => void, serverLost: () => void): Promise<ChildSpec> {
  const lines = createInterface({ input: process.stdin });
  return new Promise((resolve, reject) => {
    let spec: ChildSpec | null = null;
    lines.on("line", (line) => {
      if (spec === null) {
        try {
          spec = JSON.parse(line) as ChildSpec;
          resolve(spec);
        } catch {
          reject(new Error("the run spec on stdin is not JSON"));
        }
      } else if (line.includes('"cancel"')) abort("cancelled");
    });
    lines.on("close", () => {
      if (spec === null) reject(new Error("no run spec on stdin"));
      else serverLost();
    });
  });
}

const SERVER_GONE = "the server went away";

/**
 * Cancels the run when the server is lost. A SIGKILLed server closes the pipes, but a pipe end
 * another process inherited would keep stdin open: being re-parented is the sure sign. If the
 * cancelled run has not ended ORPHAN_EXIT_MS later (a storage call that ignores the signal), the
 * child exits: its lock names a dead pid, which every later opener on this host judges stale.
 */
function watchServer(abort: (why: string) => void): () => void {
  const parent = process.ppid;
  let gone = false;
  const lost = () => {
    if (gone) return;
    gone = true;
    clearInterval(poll);
    abort(SERVER_GONE);
    setTimeout(() => process.exit(3), ORPHAN_EXIT_MS).unref();
  };
  const poll = setInterval(() => {
    if (process.ppid !== parent) lost();
  }, PARENT_POLL_MS);
  poll.unref();
  // Writing progress to a server that is gone fails with EPIPE: an event, never a crash.
  process.stdout.on("error", lost);
  return lost;
}

function failureKind(error: unknown, signal: AbortSignal): FailureKind {
  if (signal.aborted || error instanceof CancelledError) return "cancelled";
  if (error instanceof NotFoundError) return "source";
  const destination = [PermanentStorageError, TransientStorageError, WrongPasswordError, LockedError];
  return destination.some((k) => error instanceof k) ? "destination" : "other";
}

function union(spec: RunSpec, key: "includePatterns" | "excludePatterns"): string[] | undefined {
  const all = [...new Set(spec.sources.flatMap((s) => s[key]))];
  return all.length > 0 ? all : undefined;
}

/** The walk's options: the same for startWalk() and backup(). */
function scanOptions(spec: RunSpec, signal: AbortSignal) {
  return { excludes: union(spec, "excludePatterns"), includes: union(spec, "includePatterns"), signal };
}

async function backUp(
  repo: RepositoryImpl,
  spec: RunSpec,
  walk: WalkAhead,
  signal: AbortSignal,
  uploaded: () => number,
) {
  const paths = spec.sources.map((s) => s.path);
  const parent = spec.full ? null : await findParent(repo, hostname(), normalizePaths(paths), signal);
  const result = await backup(repo, paths, {
    ...scanOptions(spec, signal),
    walk,
    full: spec.full,
    tags: spec.tags,
    parent,
    ...reportTo(send, uploaded),
  });
  const s = result.summary;
  await send({
    type: "backed-up",
    snapshotId: result.snapshot.id,
    filesProcessed: s.files_new + s.files_changed + s.files_unmodified,
    filesSkipped: s.errors.length,
    totalBytes: s.bytes_processed,
    bytesTransferred: s.bytes_stored,
  });
}

/**
 * Forget by the job's policy (only its own snapshots: its tag and this host), then prune when due,
 * under the lock that needs. A failure here does not undo the backup: it is reported as a problem.
 */
async function applyRetention(spec: RunSpec, signal: AbortSignal): Promise<void> {
  const policy = retentionFromConfig(spec.retention);
  if (!policy && !spec.prune) return;
  const lock = forgetLock({ prune: spec.prune });
  const selection = policy ? { policy, hosts: [hostname()], tags: spec.tags.slice(0, 1) } : { ids: [] };
  try {
    const out = await withOpened(
      () => openSpecRepository(spec.target, { lock, signal, lockOptions: { waitMs: PRUNE_LOCK_WAIT_MS } }),
      (repo) => forgetAndPrune(repo, selection, { prune: spec.prune, signal }),
    );
    const problem = out.pruneRefused
      ? `prune skipped: ${out.damaged.length} snapshot(s) cannot be read; run check`
      : null;
    await send({
      type: "retention",
      removed: out.result.removed.length,
      pruned: out.pruned !== null,
      problem,
    });
  } catch (e) {
    if (signal.aborted) throw e;
    await send({ type: "retention", removed: 0, pruned: false, problem: (e as Error).message });
  }
}

/** Runs a run of another kind (restore), reporting a failure like a backup's. */
async function runOther(run: () => Promise<void>, signal: AbortSignal): Promise<number> {
  try {
    await run();
  } catch (e) {
    await send({ type: "failed", kind: failureKind(e, signal), message: (e as Error).message });
  }
  return 0;
}

/** Runs one job from the spec on stdin; the exit code is 0 unless the run could not start. */
export async function runChildMain(): Promise<number> {
  const controller = new AbortController();
  const abort = (why: string) => {
    if (!controller.signal.aborted) controller.abort(new CancelledError(why));
  };
  const serverLost = watchServer(abort);
  process.on("SIGTERM", () => abort("cancelled"));
  process.on("SIGINT", () => abort("cancelled"));
  const signal = controller.signal;
  let read: ChildSpec;
  try {
    read = await readStdin(abort, serverLost);
  } catch (e) {
    await send({ type: "failed", kind: "other", message: (e as Error).message });
    return 1;
  }
  if (isRestoreSpec(read)) return runOther(() => runRestoreChild(read, signal, send), signal);
  if (isVerifySpec(read)) return runOther(() => runVerifyChild(read, signal, send), signal);
  if (isRecoveryCopySpec(read)) return runOther(() => runRecoveryCopyChild(read, signal, send), signal);
  if (isStatsSpec(read)) return runOther(() => runStatsChild(read, signal, send), signal);
  if (isDownloadSpec(read)) return runDownloadChild(read, signal);
  const spec: RunSpec = read;
  try {
    const compression = spec.compression;
    let uploaded = 0;
    const open = () =>
      openSpecRepository(spec.target, {
        lock: "shared",
        compression,
        limitUploadKbps: spec.limitUploadKbps,
        signal,
        onUpload: (n) => {
          uploaded += n;
        },
      });
    // The walk starts now and lists the sources while the key is derived and the index loaded
    // (engine/backup/ahead.ts); the job's pre hook has already run in the server.
    const walk = startWalk(
      spec.sources.map((s) => s.path),
      scanOptions(spec, signal),
    );
    try {
      await withOpened(open, async (repo) => {
        await send({ type: "opened" });
        await backUp(repo, spec, walk, signal, () => uploaded);
        // Best effort: the snapshot stands; the next run tries the copy again.
        if (spec.recoveryCopy) await storeRecoveryCopy(repo, spec.recoveryCopy, signal).catch(() => false);
      });
    } finally {
      walk.stop();
    }
    await applyRetention(spec, signal);
  } catch (e) {
    await send({ type: "failed", kind: failureKind(e, signal), message: (e as Error).message });
  }
  return 0;
}
