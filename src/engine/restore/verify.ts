/**
 * Checks a file on disk against a node's blob ids by re-chunking it with the repository's chunker:
 * chunking is deterministic, so equal content gives the same chunks and ids, and no blob needs to
 * be downloaded.
 */
import { closeSync, constants, openSync, read } from "node:fs";
import { throwIfAborted } from "../../util/errors.ts";
import { Chunker } from "../chunk/chunker.ts";
import { isPackSource, type PackSource } from "../repository/pack-reader.ts";
import type { Repository, TreeNode } from "../types.ts";
import type { TargetDirs } from "./target-dirs.ts";

/** The small part of a FileHandle used here, over a plain descriptor (opened synchronously). */
interface Reader {
  read(
    buf: Uint8Array,
    offset: number,
    length: number,
    position: number | null,
  ): Promise<{ bytesRead: number }>;
}

function reader(fd: number): Reader {
  return {
    read: (buf, offset, length, position) =>
      new Promise((done, fail) => {
        read(fd, buf, offset, length, position, (e, bytesRead) => (e ? fail(e) : done({ bytesRead })));
      }),
  };
}

/**
 * Compares blob by blob, cut at the plaintext lengths the index records: independent of the
 * chunker (a file copied from a repository with other chunker settings still compares equal).
 * Null when a blob is not in the index (the caller falls back to re-chunking).
 */
async function matchesByIndex(
  repo: Repository & PackSource,
  fh: Reader,
  node: TreeNode,
  signal?: AbortSignal,
): Promise<boolean | null> {
  let size = 0;
  for (const id of node.content ?? []) {
    throwIfAborted(signal);
    const e = await repo.locate("data", id, signal);
    if (!e) return null;
    const buf = new Uint8Array(e.rawLength);
    const { bytesRead } = await fh.read(buf, 0, buf.length, size);
    if (bytesRead !== buf.length || repo.blobId(buf) !== id) return false;
    size += bytesRead;
  }
  const probe = await fh.read(new Uint8Array(1), 0, 1, size);
  return probe.bytesRead === 0 && size === node.size;
}

/**
 * True when the file at `path` below the target (not followed if a symlink) has exactly the
 * node's content. Opened synchronously: the path reaches it through a held folder descriptor.
 */
export async function fileMatches(
  repo: Repository,
  dirs: TargetDirs,
  path: Buffer,
  node: TreeNode,
  signal?: AbortSignal,
): Promise<boolean> {
  const content = node.content ?? [];
  let fd: number;
  try {
    fd = openSync(dirs.at(path), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return false;
  }
  const fh = reader(fd);
  try {
    if (isPackSource(repo)) {
      const byIndex = await matchesByIndex(repo, fh, node, signal);
      if (byIndex !== null) return byIndex;
    }
    const chunker = new Chunker(repo.chunker);
    const buf = new Uint8Array(Math.min(1024 * 1024, Math.max(64 * 1024, node.size + 1)));
    let i = 0;
    let size = 0;
    const compare = (chunks: Uint8Array[]) => chunks.every((c) => repo.blobId(c) === content[i++]);
    for (;;) {
      throwIfAborted(signal);
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      size += bytesRead;
      if (size > node.size || !compare(chunker.push(buf.subarray(0, bytesRead)))) return false;
    }
    return compare(chunker.finish()) && i === content.length && size === node.size;
  } catch (e) {
    if (signal?.aborted) throw e;
    return false;
  } finally {
    closeSync(fd);
  }
}
