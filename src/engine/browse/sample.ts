/**
 * Restore drills: pick a random sample of a snapshot's files, then check restored copies (or the
 * source itself) against the snapshot's content ids. Checking re-chunks each file with the
 * repository's chunker and compares the chunk ids with the node's blob ids: chunking is
 * deterministic, so the same bytes give the same ids, and no blob is downloaded to check.
 */
import { createHash, randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { throwIfAborted, ValidationError } from "../../util/errors.ts";
import { Chunker } from "../chunk/chunker.ts";
import { nameToBytes } from "../scan/names.ts";
import type { BlobId, Repository, Snapshot } from "../types.ts";
import { resolvePath, type TreeSource } from "./trees.ts";
import { walkFrames } from "./walk.ts";

export interface SampledFile {
  /** Absolute path in the snapshot (names as stored). */
  path: string;
  size: number;
  /** Nanoseconds (decimal string), as stored. */
  mtime: string;
  content: BlobId[];
}

export interface SampleOptions {
  /** Most files to pick (≥ 1). */
  count: number;
  /** Most bytes in total; files larger than this are never picked. */
  maxBytes: number;
  /** Same seed, same snapshot → same sample. Default: a random seed (returned). */
  seed?: string;
  /** Sample below this path only (default "/"). */
  path?: string;
  signal?: AbortSignal;
}

export interface Sample {
  files: SampledFile[];
  bytes: number;
  /** Regular files seen that could have been picked (size ≤ maxBytes). */
  candidates: number;
  seed: string;
}

/** sfc32, seeded from SHA-256 of the seed: small, fast, good enough to pick files. */
export function seededRandom(seed: string): () => number {
  const h = createHash("sha256").update(seed).digest();
  let [a, b, c, d] = [h.readUInt32LE(0), h.readUInt32LE(4), h.readUInt32LE(8), h.readUInt32LE(12)];
  return () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
}

/**
 * A uniform random sample of regular files (reservoir sampling over one streaming walk, so memory
 * is `count` files whatever the snapshot holds), then trimmed to the byte budget in random order.
 * ValidationError for a bad count, budget or path; NotFoundError for a missing path.
 */
export async function chooseSample(
  trees: TreeSource,
  snapshot: Pick<Snapshot, "id" | "tree">,
  options: SampleOptions,
): Promise<Sample> {
  const { count, maxBytes } = options;
  if (!Number.isSafeInteger(count) || count < 1)
    throw new ValidationError("sample count must be a positive integer");
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0)
    throw new ValidationError("sample bytes must be a non-negative integer");
  const seed = options.seed ?? randomBytes(8).toString("hex");
  const random = seededRandom(seed);
  const { node, parts, tree } = await resolvePath(trees, snapshot, options.path ?? "/", options.signal);
  const base = parts.length === 0 ? "" : `/${parts.join("/")}`;
  const reservoir: SampledFile[] = [];
  let candidates = 0;
  const offer = (path: string, n: { size: number; mtime: string; content?: BlobId[] }) => {
    if (n.size > maxBytes) return;
    candidates++;
    const file = { path, size: n.size, mtime: n.mtime, content: n.content ?? [] };
    if (reservoir.length < count) reservoir.push(file);
    else {
      const j = Math.floor(random() * candidates);
      if (j < count) reservoir[j] = file;
    }
  };
  if (node?.type === "file") offer(base, node);
  if (tree !== undefined) {
    const root = { nodes: (await trees.loadTree(tree, options.signal)).nodes, next: 0, base };
    for await (const e of walkFrames(trees, [root], options.signal))
      if (e.node.type === "file") offer(e.path, e.node);
  }
  return { ...withinBudget(reservoir, maxBytes, random), candidates, seed };
}

/** Shuffles the picked files and keeps those that fit the budget, in path order. */
function withinBudget(
  picked: SampledFile[],
  maxBytes: number,
  random: () => number,
): { files: SampledFile[]; bytes: number } {
  for (let i = picked.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [picked[i], picked[j]] = [picked[j]!, picked[i]!];
  }
  const files: SampledFile[] = [];
  let bytes = 0;
  for (const f of picked) {
    if (bytes + f.size > maxBytes) continue;
    files.push(f);
    bytes += f.size;
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files, bytes };
}

export type MismatchReason = "missing" | "not a file" | "size" | "content" | "unreadable";

export interface Mismatch {
  /** Snapshot path of the file. */
  path: string;
  reason: MismatchReason;
  detail: string;
}

export interface VerifyReport {
  filesChecked: number;
  bytesChecked: number;
  /** Files left out because they changed since the snapshot (only with skipChanged). */
  skipped: number;
  mismatches: Mismatch[];
}

export interface VerifyOptions {
  /**
   * Where the files are: snapshot path /a/b is checked at <root>/a/b (restore's layout). "/" checks
   * the source itself.
   */
  root: string;
  /** Skip (not fail) files whose size or mtime differs from the snapshot: for checking a live source. */
  skipChanged?: boolean;
  signal?: AbortSignal;
}

type Verdict =
  | { ok: true; bytes: number }
  | { ok: false; reason: MismatchReason; detail: string }
  | { skipped: true };

/** Chunks an open file and compares each chunk's id with the expected list. */
async function compareChunks(
  repo: Pick<Repository, "blobId" | "chunker">,
  fh: Awaited<ReturnType<typeof open>>,
  file: SampledFile,
  signal?: AbortSignal,
): Promise<Verdict> {
  const chunker = new Chunker(repo.chunker);
  const buf = new Uint8Array(1024 * 1024);
  let i = 0;
  let bytes = 0;
  const check = (chunks: Uint8Array[]): Verdict | null => {
    for (const c of chunks) {
      if (repo.blobId(c) !== file.content[i])
        return { ok: false, reason: "content", detail: `chunk ${i} differs` };
      i++;
    }
    return null;
  };
  for (;;) {
    throwIfAborted(signal);
    const { bytesRead } = await fh.read(buf, 0, buf.length, null);
    if (bytesRead === 0) break;
    bytes += bytesRead;
    const bad = check(chunker.push(buf.subarray(0, bytesRead)));
    if (bad) return bad;
  }
  const bad = check(chunker.finish());
  if (bad) return bad;
  if (i !== file.content.length)
    return { ok: false, reason: "content", detail: `${i} chunks, expected ${file.content.length}` };
  return { ok: true, bytes };
}

async function verifyOne(
  repo: Pick<Repository, "blobId" | "chunker">,
  file: SampledFile,
  options: VerifyOptions,
): Promise<Verdict> {
  const root = nameToBytes(options.root.replace(/\/+$/, ""));
  const at = Buffer.concat([root, nameToBytes(file.path)]);
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(at, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return { ok: false, reason: "missing", detail: "not found" };
    if (code === "ELOOP") return { ok: false, reason: "not a file", detail: "a symlink" };
    return { ok: false, reason: "unreadable", detail: String(code ?? e) };
  }
  try {
    const st = await fh.stat({ bigint: true });
    if (!st.isFile()) return { ok: false, reason: "not a file", detail: "not a regular file" };
    const changed = st.size !== BigInt(file.size) || st.mtimeNs !== BigInt(file.mtime);
    if (options.skipChanged && changed) return { skipped: true };
    if (st.size !== BigInt(file.size))
      return { ok: false, reason: "size", detail: `${st.size} bytes, expected ${file.size}` };
    return await compareChunks(repo, fh, file, options.signal);
  } catch (e) {
    if (options.signal?.aborted) throw e;
    return { ok: false, reason: "unreadable", detail: (e as Error).message };
  } finally {
    await fh.close().catch(() => {});
  }
}

/**
 * Checks each sampled file under `options.root` against its content ids, one file at a time.
 * Mismatches are reported, never thrown; CancelledError when `signal` fires.
 */
export async function verifyFiles(
  repo: Pick<Repository, "blobId" | "chunker">,
  files: readonly SampledFile[],
  options: VerifyOptions,
): Promise<VerifyReport> {
  const report: VerifyReport = { filesChecked: 0, bytesChecked: 0, skipped: 0, mismatches: [] };
  for (const file of files) {
    throwIfAborted(options.signal);
    const v = await verifyOne(repo, file, options);
    if ("skipped" in v) report.skipped++;
    else if (v.ok) {
      report.filesChecked++;
      report.bytesChecked += v.bytes;
    } else {
      report.filesChecked++;
      report.mismatches.push({ path: file.path, reason: v.reason, detail: v.detail });
    }
  }
  return report;
}
