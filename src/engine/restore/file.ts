/**
 * Restores one file: skipped when the target already holds it (size and mtime match, and with
 * verify the content too); otherwise written blob by blob (each blob authenticated by
 * repo.loadBlob, the next one fetched while the current one is written) to a temporary name, given
 * its mode, owner and times, and renamed into place.
 */
import { rename, unlink } from "node:fs/promises";
import { IntegrityError, throwIfAborted } from "../../util/errors.ts";
import type { Repository, TreeNode } from "../types.ts";
import {
  isRoot,
  lstatOrNull,
  mtimeSeconds,
  openForWrite,
  removeEntry,
  sameMtime,
  tempName,
} from "./fs-ops.ts";
import { fileMatches } from "./verify.ts";

export interface FileOutcome {
  written: boolean;
  bytes: number;
  verified: boolean;
}

export interface RestoreFileContext {
  repo: Repository;
  verify: boolean;
  signal: AbortSignal;
  onBytes(n: number): void;
}

async function alreadyThere(ctx: RestoreFileContext, path: Buffer, node: TreeNode): Promise<boolean> {
  const st = await lstatOrNull(path);
  if (!st?.isFile() || Number(st.size) !== node.size || !sameMtime(st, node.mtime)) return false;
  return !ctx.verify || (await fileMatches(ctx.repo, path, node, ctx.signal));
}

/** Restores `node` at `path` (inside directory `dir`). Throws on failure (the caller records it). */
export async function restoreFile(
  ctx: RestoreFileContext,
  dir: Buffer,
  name: Buffer,
  path: Buffer,
  node: TreeNode,
): Promise<FileOutcome> {
  if (await alreadyThere(ctx, path, node)) return { written: false, bytes: node.size, verified: ctx.verify };
  const temp = tempName(dir, name);
  const fh = await openForWrite(temp);
  try {
    const written = await writeContent(ctx, fh, node);
    if (written !== node.size)
      throw new IntegrityError(`content is ${written} bytes, the tree says ${node.size}`);
    if (isRoot) await fh.chown(node.uid, node.gid).catch(() => {});
    await fh.chmod(node.mode & 0o7777);
    const t = mtimeSeconds(node.mtime);
    await fh.utimes(t, t);
  } catch (e) {
    await fh.close().catch(() => {});
    await unlink(temp).catch(() => {});
    throw e;
  }
  await fh.close();
  const existing = await lstatOrNull(path);
  if (existing?.isDirectory()) await removeEntry(path, existing);
  await rename(temp, path);
  if (ctx.verify && !(await fileMatches(ctx.repo, path, node, ctx.signal))) {
    throw new IntegrityError("verification failed: the written file does not match its blobs");
  }
  return { written: true, bytes: node.size, verified: ctx.verify };
}

async function writeContent(
  ctx: RestoreFileContext,
  fh: Awaited<ReturnType<typeof openForWrite>>,
  node: TreeNode,
): Promise<number> {
  const ids = node.content ?? [];
  const load = (i: number) => ctx.repo.loadBlob("data", ids[i]!, ctx.signal);
  let next = ids.length > 0 ? load(0) : null;
  // Keep the prefetch from becoming an unhandled rejection if writing fails first.
  next?.catch(() => {});
  let total = 0;
  for (let i = 0; i < ids.length; i++) {
    throwIfAborted(ctx.signal);
    const data = await next!;
    next = i + 1 < ids.length ? load(i + 1) : null;
    next?.catch(() => {});
    let off = 0;
    while (off < data.length) off += (await fh.write(data, off, data.length - off)).bytesWritten;
    total += data.length;
    ctx.onBytes(data.length);
  }
  return total;
}
