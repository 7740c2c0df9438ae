/**
 * Checks a file on disk against a node's blob ids by re-chunking it with the repository's chunker:
 * chunking is deterministic, so equal content gives the same chunks and ids, and no blob needs to
 * be downloaded.
 */
import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { throwIfAborted } from "../../util/errors.ts";
import { Chunker } from "../chunk/chunker.ts";
import { isPackSource, type PackSource } from "../repository/pack-reader.ts";
import type { Repository, TreeNode } from "../types.ts";

/**
 * Compares blob by blob, cut at the plaintext lengths the index records: independent of the
 * chunker (a file copied from a repository with other chunker settings still compares equal).
 * Null when a blob is not in the index (the caller falls back to re-chunking).
 */
async function matchesByIndex(
  repo: Repository & PackSource,
  fh: Awaited<ReturnType<typeof open>>,
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

/** True when the file at `path` (not followed if a symlink) has exactly the node's content. */
export async function fileMatches(
  repo: Repository,
  path: Buffer,
  node: TreeNode,
  signal?: AbortSignal,
): Promise<boolean> {
  const content = node.content ?? [];
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return false;
  }
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
    await fh.close().catch(() => {});
  }
}
