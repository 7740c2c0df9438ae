/**
 * `backup --stdin`: one snapshot holding one file, /NAME, whose content is a stream (a database
 * dump piped in). Same chunking, dedup and write order as a file backup (packs, index, then the
 * snapshot), in bounded memory: the stream is read into the chunker's buffer a megabyte at a time.
 */
import { hostname as osHostname, userInfo } from "node:os";
import { CancelledError, ValidationError } from "../../util/errors.ts";
import { version } from "../../util/version.ts";
import { createProgress } from "../progress.ts";
import { snapshotTags } from "../snapshot-filter.ts";
import type { Repository, Snapshot, SnapshotSummary, TreeNode } from "../types.ts";
import { ChunkerPool } from "./chunkers.ts";
import { type ChunkSource, readChunks } from "./file.ts";
import type { BackupOptions } from "./types.ts";

/** Reads from an async iterable of chunks, filling each buffer completely until the stream ends. */
function streamSource(stream: AsyncIterable<Uint8Array>): ChunkSource {
  const it = stream[Symbol.asyncIterator]();
  let rest: Uint8Array = new Uint8Array(0);
  let ended = false;
  return {
    async read(buffer) {
      const length = buffer.byteLength;
      let n = 0;
      while (n < length) {
        if (rest.byteLength === 0) {
          if (ended) break;
          const r = await it.next();
          if (r.done) {
            ended = true;
            break;
          }
          rest = r.value;
        }
        const take = Math.min(rest.byteLength, length - n);
        buffer.set(rest.subarray(0, take), n);
        rest = rest.subarray(take);
        n += take;
      }
      return n;
    },
  };
}

export async function backupStream(
  repo: Repository,
  stream: AsyncIterable<Uint8Array>,
  filename: string,
  options: BackupOptions = {},
): Promise<{ snapshot: Snapshot; summary: SnapshotSummary }> {
  if (filename === "" || filename.includes("/") || filename === "." || filename === "..") {
    throw new ValidationError(`--stdin-filename needs a plain file name, got "${filename}"`);
  }
  const now = options.now ?? Date.now;
  const started = now();
  const signal = options.signal ?? new AbortController().signal;
  const progress = createProgress({ operation: "backup", listener: options.onProgress, now });
  const lease = await new ChunkerPool(repo.chunker).acquire(Number.MAX_SAFE_INTEGER);
  let out: Awaited<ReturnType<typeof readChunks>>;
  try {
    progress.fileStarted(`/${filename}`);
    const ctx = { repo, signal, onBytes: (n: number) => progress.addBytes(n) };
    out = await readChunks(ctx, streamSource(stream), -1, lease.chunker);
    progress.fileDone(`/${filename}`);
    const time = (BigInt(now()) * 1_000_000n).toString();
    const user = userInfo();
    const node: TreeNode = {
      ...{ name: filename, type: "file", mode: 0o644, uid: user.uid, gid: user.gid },
      ...{ mtime: time, ctime: time, inode: 0, device: 0, size: out.size, content: out.content },
    };
    const tree = await repo.saveTree({ nodes: [node] }, signal);
    await repo.flush(signal);
    const summary: SnapshotSummary = {
      ...{ files_new: 1, files_changed: 0, files_unmodified: 0, dirs: 0, bytes_processed: out.size },
      ...{ bytes_added: out.added, bytes_stored: out.stored, duration_ms: now() - started, errors: [] },
    };
    const snapshot = await repo.saveSnapshot(
      {
        time: new Date(started).toISOString(),
        hostname: options.hostname ?? osHostname(),
        username: options.username ?? user.username,
        paths: [`/${filename}`],
        tags: snapshotTags(options.tags ?? []),
        parent: options.parent?.id ?? null,
        tree,
        program_version: `backapp ${version}`,
        summary,
      },
      signal,
    );
    return { snapshot, summary };
  } catch (e) {
    await repo.indexUploaded?.();
    throw signal.aborted ? new CancelledError("backup cancelled", { cause: e }) : e;
  } finally {
    lease.release();
    progress.finish();
  }
}
