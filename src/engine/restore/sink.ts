/**
 * One file being restored from blobs that arrive in pack order, not file order: each blob is
 * written at its offset (positional writes) into the temporary name, created and truncated on the
 * first write with O_NOFOLLOW. When the last blob lands, mode, owner and times are applied and the
 * file is renamed into place. Operations on one file are serialised; handles of unfinished files
 * are closed and reopened (never truncated again) so a restore holds few descriptors.
 */
import { constants } from "node:fs";
import { type FileHandle, open, rename, unlink } from "node:fs/promises";
import { IntegrityError } from "../../util/errors.ts";
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

/** A file of the snapshot to restore at `path` (inside directory `dir`). */
export interface FileJob {
  node: TreeNode;
  dir: Buffer;
  name: Buffer;
  path: Buffer;
  display: string;
}

/** Counts handles kept open for unfinished files; past the limit, handles are closed after use. */
export class HandleBudget {
  open = 0;
  constructor(readonly limit: number) {}
}

const REOPEN_FLAGS = constants.O_WRONLY | constants.O_NOFOLLOW;

export class FileSink {
  /** Blob writes still to come. */
  remaining: number;
  failed = false;
  private fh: FileHandle | null = null;
  private created = false;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly temp: Buffer;

  constructor(
    readonly job: FileJob,
    writes: number,
    private readonly handles: HandleBudget,
  ) {
    this.remaining = writes;
    this.temp = tempName(job.dir, job.name);
  }

  private serial<T>(op: () => Promise<T>): Promise<T> {
    const p = this.chain.then(op);
    this.chain = p.catch(() => {});
    return p;
  }

  private async handle(): Promise<FileHandle> {
    if (this.fh) return this.fh;
    this.fh = this.created ? await open(this.temp, REOPEN_FLAGS) : await openForWrite(this.temp);
    this.created = true;
    this.handles.open++;
    return this.fh;
  }

  private async closeHandle(): Promise<void> {
    const fh = this.fh;
    if (!fh) return;
    this.fh = null;
    this.handles.open--;
    await fh.close();
  }

  /** Writes `data` at `offset`; true when this was the file's last write. */
  write(data: Uint8Array, offset: number): Promise<boolean> {
    return this.serial(async () => {
      if (this.failed) return false;
      const fh = await this.handle();
      let off = 0;
      while (off < data.length) {
        off += (await fh.write(data, off, data.length - off, offset + off)).bytesWritten;
      }
      this.remaining--;
      if (this.remaining > 0 && this.handles.open > this.handles.limit) await this.closeHandle();
      return this.remaining === 0;
    });
  }

  /** Applies metadata and renames into place (after the last write, or at once for no blobs). */
  finish(repo: Repository, verify: boolean, signal: AbortSignal): Promise<void> {
    return this.serial(async () => {
      const node = this.job.node;
      const fh = await this.handle();
      if (isRoot) await fh.chown(node.uid, node.gid).catch(() => {});
      await fh.chmod(node.mode & 0o7777);
      const t = mtimeSeconds(node.mtime);
      await fh.utimes(t, t);
      const { size } = await fh.stat();
      if (size !== node.size)
        throw new IntegrityError(`content is ${size} bytes, the tree says ${node.size}`);
      await this.closeHandle();
      const existing = await lstatOrNull(this.job.path);
      if (existing?.isDirectory()) await removeEntry(this.job.path, existing);
      await rename(this.temp, this.job.path);
      if (verify && !(await fileMatches(repo, this.job.path, node, signal))) {
        throw new IntegrityError("verification failed: the written file does not match its blobs");
      }
    });
  }

  /** Gives up on the file: closes and removes the temporary file. Never throws. */
  abandon(): Promise<void> {
    this.failed = true;
    return this.serial(async () => {
      await this.closeHandle().catch(() => {});
      if (this.created) await unlink(this.temp).catch(() => {});
    });
  }
}

/** True when the target already holds the file (size and mtime match; with verify the content). */
export async function alreadyThere(
  repo: Repository,
  job: FileJob,
  verify: boolean,
  signal: AbortSignal,
): Promise<boolean> {
  const st = await lstatOrNull(job.path);
  if (!st?.isFile() || Number(st.size) !== job.node.size || !sameMtime(st, job.node.mtime)) return false;
  return !verify || (await fileMatches(repo, job.path, job.node, signal));
}
