/**
 * Reads one file streaming (fixed-size reads), cuts it into content-defined chunks and saves each
 * chunk as a data blob. Memory per file: one read buffer plus the chunker's buffer. The node's
 * metadata is the fstat taken right after opening; the content is what was read.
 */
import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { throwIfAborted } from "../../util/errors.ts";
import { Chunker } from "../chunk/chunker.ts";
import type { BlobId, Repository, TreeNode } from "../types.ts";
import { nodeFromStat } from "./node.ts";

const READ_SIZE = 1024 * 1024;
const SAVES_IN_FLIGHT = 6;
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
}

function fsError(e: unknown): FileReadError {
  const err = e as NodeJS.ErrnoException;
  if (err?.code === "ENOENT") return new FileReadError("vanished during the backup");
  if (err?.code === "ELOOP") return new FileReadError("replaced by a symlink during the backup");
  return new FileReadError(err?.message ?? String(e));
}

/** Reads and stores `path`. FileReadError for file problems; repository errors pass through. */
export async function saveFile(ctx: SaveFileContext, path: Buffer, name: string): Promise<SavedFile> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, FLAGS);
  } catch (e) {
    throw fsError(e);
  }
  try {
    const st = await fh.stat({ bigint: true }).catch((e: unknown) => Promise.reject(fsError(e)));
    if (!st.isFile()) throw new FileReadError("no longer a regular file");
    const out = await readChunks(ctx, fh, Number(st.size));
    const after = await fh.stat({ bigint: true }).catch(() => st);
    const node = { ...nodeFromStat(name, "file", st), size: out.size, content: out.content };
    const changed = out.size !== Number(st.size) || after.mtimeNs !== st.mtimeNs;
    return { node, bytesAdded: out.added, bytesStored: out.stored, changedWhileReading: changed };
  } finally {
    await fh.close().catch(() => {});
  }
}

async function readChunks(ctx: SaveFileContext, fh: Awaited<ReturnType<typeof open>>, sizeHint: number) {
  const chunker = new Chunker(ctx.repo.chunker);
  // Small files get a small buffer: allocating (and zeroing) 1 MiB per file dominates otherwise.
  const buf = new Uint8Array(Math.min(READ_SIZE, Math.max(64 * 1024, sizeHint + 1)));
  const content: BlobId[] = [];
  let size = 0;
  let added = 0;
  let stored = 0;
  // Several saves in flight per file, so both seal workers stay busy on one big file; saveBlob
  // itself applies back-pressure, and chunks are fresh copies, so holding them is safe.
  const pending: Promise<void>[] = [];
  const store = async (chunks: Uint8Array[]) => {
    for (const chunk of chunks) {
      const id = ctx.repo.blobId(chunk);
      content.push(id);
      const saved = ctx.repo.saveBlob("data", id, chunk, ctx.signal).then((r) => {
        if (r.added) {
          added += chunk.length;
          stored += r.storedBytes;
        }
      });
      saved.catch(() => {}); // observed when awaited below; never an unhandled rejection meanwhile
      pending.push(saved);
      if (pending.length >= SAVES_IN_FLIGHT) await pending.shift();
    }
  };
  for (;;) {
    throwIfAborted(ctx.signal);
    let n: number;
    try {
      n = (await fh.read(buf, 0, buf.length, null)).bytesRead;
    } catch (e) {
      throw fsError(e);
    }
    if (n === 0) break;
    size += n;
    ctx.onBytes(n);
    await store(chunker.push(buf.subarray(0, n)));
  }
  await store(chunker.finish());
  await Promise.all(pending);
  return { content, size, added, stored };
}
