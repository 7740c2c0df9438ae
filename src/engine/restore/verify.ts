/**
 * Checks a file on disk against a node's blob ids by re-chunking it with the repository's chunker:
 * chunking is deterministic, so equal content gives the same chunks and ids, and no blob needs to
 * be downloaded.
 */
import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { throwIfAborted } from "../../util/errors.ts";
import { Chunker } from "../chunk/chunker.ts";
import type { Repository, TreeNode } from "../types.ts";

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
