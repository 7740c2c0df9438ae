/**
 * Downloads and storage statistics in a run's child process, off the server's event loop: the
 * child opens the repository, resolves the snapshot and path, then decrypts, decompresses and
 * (for a folder) tars, writing the bytes to stdout after a one-line JSON header
 * (download-protocol.ts). Writes wait for the pipe to drain, so a slow client slows the reading
 * here and memory stays at a few blobs. No lock, as browsing: a download never blocks a backup or
 * a prune (a prune racing it can at worst fail it midway, which the server turns into a broken
 * response, never into wrong bytes).
 */
import { downloadPath, TreeCache } from "../engine/browse/index.ts";
import { openRepositoryWithKeys, type RepositoryImpl } from "../engine/repository/index.ts";
import { repositoryStats } from "../engine/stats.ts";
import { CancelledError, NotFoundError, ValidationError, WrongPasswordError } from "../util/errors.ts";
import type {
  DownloadFailure,
  DownloadHeader,
  DownloadSpec,
  RepoNumbers,
  StatsSpec,
} from "./download-protocol.ts";
import { withOpened } from "./operations.ts";
import { openSpecRepository, specBackend } from "./repository-access.ts";
import type { ChildMessage } from "./run-protocol.ts";

const out = process.stdout;

function write(chunk: string | Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    out.write(chunk, (e) => (e ? reject(e) : resolve()));
  });
}

/** Resolves when stdout can take more, rejects when the download is cancelled meanwhile. */
function drained(signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      out.off("drain", done);
      signal.removeEventListener("abort", done);
      if (signal.aborted) reject(new CancelledError("download cancelled"));
      else resolve();
    };
    out.on("drain", done);
    signal.addEventListener("abort", done);
  });
}

async function pump(stream: ReadableStream<Uint8Array>, signal: AbortSignal): Promise<void> {
  const reader = stream.getReader();
  try {
    for (;;) {
      if (signal.aborted) throw new CancelledError("download cancelled");
      const r = await reader.read();
      if (r.done) break;
      if (!out.write(r.value)) await drained(signal);
    }
    // Every earlier write is out once this one's callback ran: nothing is lost at process.exit.
    await write(new Uint8Array(0));
  } finally {
    await reader.cancel().catch(() => {});
  }
}

function failureOf(e: unknown): DownloadFailure {
  if (e instanceof NotFoundError) return "not-found";
  if (e instanceof ValidationError) return "invalid";
  return "other";
}

/** With the server's master keys when given (no key derivation), else (or if they fail) the passphrase. */
async function openForDownload(spec: DownloadSpec, signal: AbortSignal): Promise<RepositoryImpl> {
  const options = { lock: "none" as const, signal };
  if (spec.masterKeys) {
    const backend = specBackend(spec.target);
    const keys = {
      encrypt: spec.masterKeys.encrypt === null ? null : Buffer.from(spec.masterKeys.encrypt, "base64"),
      mac: Buffer.from(spec.masterKeys.mac, "base64"),
    };
    try {
      return await openRepositoryWithKeys(backend, keys, options);
    } catch (e) {
      await backend.close().catch(() => {});
      if (!(e instanceof WrongPasswordError)) throw e;
    }
  }
  return openSpecRepository(spec.target, options);
}

/** Runs one download; the exit code is non-zero only when it failed after the header. */
export async function runDownloadChild(spec: DownloadSpec, signal: AbortSignal): Promise<number> {
  // A closed pipe (the server cancelled) must end the child, not throw an unhandled error.
  out.on("error", () => process.exit(1));
  let ready = false;
  let repo: RepositoryImpl | null = null;
  try {
    repo = await openForDownload(spec, signal);
    const snapshot = await repo.findSnapshot(spec.snapshotRef, signal);
    const d = await downloadPath(repo, new TreeCache(repo), snapshot, spec.path, { signal, withSize: true });
    const header: DownloadHeader = { type: "ready", kind: d.kind, name: d.name, size: d.size };
    await write(`${JSON.stringify(header)}\n`);
    ready = true;
    await pump(d.stream, signal);
    return 0;
  } catch (e) {
    const message = (e as Error).message;
    if (ready) {
      process.stderr.write(`download failed: ${message}\n`);
      return 1;
    }
    const header: DownloadHeader = { type: "failed", kind: failureOf(e), message };
    await write(`${JSON.stringify(header)}\n`);
    return 0;
  } finally {
    await repo?.close().catch(() => {});
  }
}

/** The numbers of `backapp stats`, read under a shared lock (prune cannot pull packs from under it). */
export async function runStatsChild(
  spec: StatsSpec,
  signal: AbortSignal,
  send: (m: ChildMessage) => Promise<void>,
): Promise<void> {
  const open = () => openSpecRepository(spec.target, { lock: "shared", signal });
  await withOpened(open, async (repo) => {
    const s = await repositoryStats(repo, { snapshots: await repo.listSnapshots(signal), signal });
    const numbers: RepoNumbers = {
      storedBytes: s.storedSize,
      objects: s.packs,
      snapshots: s.snapshots,
      latestSnapshot: s.latest.id,
      logicalBytes: s.latest.size,
      latestFiles: s.latest.files,
      totalLogicalBytes: s.totalSize,
      uniqueBytes: s.uniqueSize,
      dedupRatio: s.dedupRatio,
      compressionRatio: s.compressionRatio,
    };
    await send({ type: "stats", numbers });
  });
}
