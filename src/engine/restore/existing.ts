/**
 * Restores that keep what the target already holds. restore() itself overwrites (an existing file
 * that differs is replaced; one already correct is skipped). For "skip" (leave every existing
 * entry alone) and "rename" (keep both: the restored copy gets a free name like
 * `report (restored).pdf`), the snapshot is first restored into a fresh staging folder inside the
 * target (same file system, so moving is a rename), then merged entry by entry. The merge never
 * follows a symlink found in the target: every destination is judged with lstat, only real
 * directories are descended into, and a symlink where a folder belongs is a conflict like any other.
 */
import { randomBytes } from "node:crypto";
import { lstat, mkdir, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { restore } from "../restore.ts";
import type { Repository, Snapshot } from "../types.ts";
import type { RestoreOptions, RestoreSummary } from "./types.ts";

export type ExistingPolicy = "skip" | "overwrite" | "rename";

export interface MergeSummary {
  /** Entries left in place because the target already had that name. */
  kept: number;
  /** Restored entries given another name beside an existing one. */
  renamed: number;
  /** Regular files and their bytes that were restored and then not placed (skip). */
  filesDropped: number;
  bytesDropped: number;
}

export interface PolicyRestoreSummary extends RestoreSummary {
  merge: MergeSummary | null;
}

async function lstatOrNull(path: Buffer) {
  try {
    return await lstat(path);
  } catch {
    return null;
  }
}

/** `name (restored).ext`, `name (restored 2).ext`, … the first one free in `dir`. */
export async function freeName(dir: Buffer, name: Buffer): Promise<Buffer> {
  const dot = name.lastIndexOf(0x2e);
  const cut = dot > 0 ? dot : name.length;
  const stem = name.subarray(0, cut);
  const ext = name.subarray(cut);
  for (let n = 1; ; n++) {
    const label = Buffer.from(n === 1 ? " (restored)" : ` (restored ${n})`);
    const candidate = Buffer.concat([stem, label, ext]);
    if (!(await lstatOrNull(Buffer.concat([dir, Buffer.from("/"), candidate])))) return candidate;
  }
}

/** Regular files and bytes under `path` (not following symlinks). */
async function countFiles(path: Buffer): Promise<{ files: number; bytes: number }> {
  const st = await lstatOrNull(path);
  if (!st) return { files: 0, bytes: 0 };
  if (st.isFile()) return { files: 1, bytes: st.size };
  if (!st.isDirectory()) return { files: 0, bytes: 0 };
  let files = 0;
  let bytes = 0;
  for (const name of await readdir(path, { encoding: "buffer" })) {
    const c = await countFiles(Buffer.concat([path, Buffer.from("/"), name]));
    files += c.files;
    bytes += c.bytes;
  }
  return { files, bytes };
}

/** Moves the staged tree `from` into `to` by the policy; `to` is a real directory (lstat). */
export async function mergeInto(
  from: Buffer,
  to: Buffer,
  policy: "skip" | "rename",
  out: MergeSummary,
  signal?: AbortSignal,
): Promise<void> {
  const slash = Buffer.from("/");
  for (const name of await readdir(from, { encoding: "buffer" })) {
    signal?.throwIfAborted();
    const src = Buffer.concat([from, slash, name]);
    const dst = Buffer.concat([to, slash, name]);
    const [s, d] = await Promise.all([lstat(src), lstatOrNull(dst)]);
    if (!d) {
      await rename(src, dst);
    } else if (s.isDirectory() && d.isDirectory()) {
      await mergeInto(src, dst, policy, out, signal);
    } else if (policy === "rename") {
      await rename(src, Buffer.concat([to, slash, await freeName(to, name)]));
      out.renamed++;
    } else {
      const c = await countFiles(src);
      out.kept++;
      out.filesDropped += c.files;
      out.bytesDropped += c.bytes;
    }
  }
}

/**
 * restore() with an explicit choice for entries the target already has. The target is created
 * when missing; the staging folder is removed at the end, also after a failure or a cancel.
 */
export async function restoreWithPolicy(
  repo: Repository,
  snapshot: Snapshot,
  options: RestoreOptions & { existing: ExistingPolicy },
): Promise<PolicyRestoreSummary> {
  const { existing, ...rest } = options;
  if (existing === "overwrite") return { ...(await restore(repo, snapshot, rest)), merge: null };
  await mkdir(options.target, { recursive: true });
  const staging = join(options.target, `.backapp-restore-${randomBytes(6).toString("hex")}`);
  await mkdir(staging, { mode: 0o700 });
  try {
    const summary = await restore(repo, snapshot, { ...rest, target: staging });
    const merge: MergeSummary = { kept: 0, renamed: 0, filesDropped: 0, bytesDropped: 0 };
    await mergeInto(Buffer.from(staging), Buffer.from(options.target), existing, merge, options.signal);
    return {
      ...summary,
      files_restored: summary.files_restored - merge.filesDropped,
      files_skipped: summary.files_skipped + merge.filesDropped,
      bytes_written: Math.max(0, summary.bytes_written - merge.bytesDropped),
      merge,
    };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
