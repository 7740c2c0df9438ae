/**
 * Reads one file streaming (reads of up to 1 MiB straight into a pooled chunker's buffer), cuts it
 * into content-defined chunks and saves each new chunk as a data blob. Memory per file: the
 * chunker's buffer (reused across files) plus the chunks in flight, each copied once by saveBlob
 * into a recycled staging buffer that moves to a seal worker and back. Chunks already in the
 * repository are hashed and skipped without a copy. The node's metadata is the fstat taken right after opening;
 * the content is what was read.
 */
import { type BigIntStats, closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { open } from "node:fs/promises";
import { throwIfAborted } from "../../util/errors.ts";
import type { Chunker } from "../chunk/chunker.ts";
import type { BlobId, Repository, TreeNode } from "../types.ts";
import { ChunkerPool } from "./chunkers.ts";
import { nodeFromStat } from "./node.ts";
import { type HoleMap, holeMap, skipHole } from "./sparse.ts";

const READ_SIZE = 1024 * 1024;
/** Enough for both seal workers to stay busy on one big file, few enough to bound memory. */
const SAVES_IN_FLIGHT = 4;
const FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** A problem with this one file (unreadable, vanished, replaced): the backup goes on. */
export class FileReadError extends Error {}

export interface SavedFile {
  node: TreeNode;
  bytesAdded: number;
  bytesStored: number;
  /** True when size or mtime changed while reading (the content may be inconsistent). */
  changedWhileReading: boolean;
}

export interface SaveFileContext {
  repo: Repository;
  signal: AbortSignal;
  /** Called with each count of bytes read. */
  onBytes(n: number): void;
  /** Chunkers shared across files (default: a fresh pool, i.e. a new chunker for this file). */
  chunkers?: ChunkerPool;
}

function fsError(e: unknown): FileReadError {
  const err = e as NodeJS.ErrnoException;
  if (err?.code === "ENOENT") return new FileReadError("vanished during the backup");
  if (err?.code === "ELOOP") return new FileReadError("replaced by a symlink during the backup");
  return new FileReadError(err?.message ?? String(e));
}

/** The calls saveFile makes on an open file (thread-pool or synchronous). */
interface OpenFile {
  /** The descriptor, for the hole map of a sparse file. */
  fd: number;
  stat(): Promise<BigIntStats>;
  read(into: Uint8Array): Promise<number>;
  close(): Promise<void>;
}

/**
 * Files up to this size (by the walk's lstat) are opened, read and closed synchronously: each
 * thread-pool round trip (a wake-up write, an epoll wait, futexes) costs more than the call on a
 * small file, and a small file is five of them.
 */
export const SYNC_FILE_MAX = 64 * 1024;

function syncFile(fd: number): OpenFile {
  const run = <T>(f: () => T): Promise<T> => {
    try {
      return Promise.resolve(f());
    } catch (e) {
      return Promise.reject(e);
    }
  };
  return {
    fd,
    stat: () => run(() => fstatSync(fd, { bigint: true })),
    read: (into) => run(() => readSync(fd, into, 0, into.byteLength, null)),
    close: () => run(() => closeSync(fd)),
  };
}

async function openFile(path: Buffer, sizeHint: number | undefined): Promise<OpenFile> {
  try {
    if (sizeHint !== undefined && sizeHint <= SYNC_FILE_MAX) return syncFile(openSync(path, FLAGS));
    const fh = await open(path, FLAGS);
    return {
      fd: fh.fd,
      stat: () => fh.stat({ bigint: true }),
      read: async (into) => (await fh.read(into, 0, into.byteLength, null)).bytesRead,
      close: () => fh.close(),
    };
  } catch (e) {
    throw fsError(e);
  }
}

/**
 * Reads and stores `path`. FileReadError for file problems; repository errors pass through.
 * `sizeHint` (the walk's lstat size) picks synchronous reads for small files.
 */
export async function saveFile(
  ctx: SaveFileContext,
  path: Buffer,
  name: string,
  sizeHint?: number,
): Promise<SavedFile> {
  const fh = await openFile(path, sizeHint);
  try {
    const st = await fh.stat().catch((e: unknown) => Promise.reject(fsError(e)));
    if (!st.isFile()) throw new FileReadError("no longer a regular file");
    const lease = await (ctx.chunkers ?? new ChunkerPool(ctx.repo.chunker)).acquire(Number(st.size));
    let out: Awaited<ReturnType<typeof readChunks>>;
    try {
      const holes = holeMap(fh.fd, Number(st.size), Number(st.blocks));
      // The chunker goes back once every chunk is copied out, not when the last one is sealed.
      out = await readChunks(ctx, fh, Number(st.size), lease.chunker, holes, lease.release);
    } finally {
      lease.release();
    }
    const after = await fh.stat().catch(() => st);
    const node = { ...nodeFromStat(name, "file", st), size: out.size, content: out.content };
    const changed = out.size !== Number(st.size) || after.mtimeNs !== st.mtimeNs;
    return { node, bytesAdded: out.added, bytesStored: out.stored, changedWhileReading: changed };
  } finally {
    await fh.close().catch(() => {});
  }
}

/** What readChunks reads from: a file, or a stream reader that fills whole buffers. */
export interface ChunkSource {
  /** Fills `into` from the current position; fewer bytes than asked (0 included) mean the end. */
  read(into: Uint8Array): Promise<number>;
}

/**
 * Chunks and stores everything `fh` yields; `sizeHint` < 0 when unknown (a pipe). With `holes`
 * (a sparse file), holes are fed to the chunker as zeros without being read (sparse.ts).
 */
export async function readChunks(
  ctx: SaveFileContext,
  fh: ChunkSource,
  sizeHint: number,
  chunker: Chunker,
  holes: HoleMap | null = null,
  readDone?: () => void,
) {
  const content: BlobId[] = [];
  let size = 0;
  let added = 0;
  let stored = 0;
  // Several saves in flight per file, so both seal workers stay busy on one big file; saveBlob
  // itself applies back-pressure. `views` point into the chunker's buffer: each is hashed, and
  // copied (once, by saveBlob) only when new.
  const pending: Promise<void>[] = [];
  const store = async (views: Uint8Array[]) => {
    for (const view of views) {
      const id = ctx.repo.blobId(view);
      content.push(id);
      if (ctx.repo.hasBlob("data", id)) continue;
      const length = view.byteLength;
      // saveBlob copies the view before returning (Repository contract), so the chunker may move on.
      const saved = ctx.repo.saveBlob("data", id, view, ctx.signal).then((r) => {
        if (r.added) {
          added += length;
          stored += r.storedBytes;
        }
      });
      saved.catch(() => {}); // observed when awaited below; never an unhandled rejection meanwhile
      pending.push(saved);
      if (pending.length >= SAVES_IN_FLIGHT) await pending.shift();
    }
  };
  /** Data bytes before the next hole (Infinity: no hole map, read on). */
  let dataLeft = holes ? 0 : Number.POSITIVE_INFINITY;
  for (;;) {
    throwIfAborted(ctx.signal);
    if (holes && dataLeft === 0) {
      const r = holes.next(size);
      if (r.hole > 0) {
        await skipHole(chunker, ctx.repo.chunker, r.hole, { store, content });
        size += r.hole;
        ctx.onBytes(r.hole);
      }
      dataLeft = r.data;
    }
    // Small files: read what is left plus one byte (to see the end), not a whole megabyte. Past
    // the size seen at open (the file is growing), whole reads again: one byte per read would
    // take hours over a few megabytes appended meanwhile.
    const left = sizeHint - size;
    const want = left >= 0 ? Math.min(READ_SIZE, left + 1) : READ_SIZE;
    const space = chunker.writable(Math.min(want, dataLeft));
    let n: number;
    try {
      n = await fh.read(space);
    } catch (e) {
      throw fsError(e);
    }
    if (n === 0) break;
    size += n;
    dataLeft -= n;
    ctx.onBytes(n);
    await store(chunker.commit(n));
    // A short read of a regular file is its end: no extra read per file just to see 0 bytes. A
    // file still growing is caught by the fstat after reading ("changed while being read").
    if (n < space.byteLength) break;
  }
  await store(chunker.finishViews());
  readDone?.();
  await Promise.all(pending);
  return { content, size, added, stored };
}
