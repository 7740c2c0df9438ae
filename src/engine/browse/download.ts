/**
 * Downloads: one file as its bytes, a folder or a selection as a tar stream. Both are pulled: a
 * blob is read (and decrypted, decompressed, verified by loadBlob) only when the consumer wants
 * more, with a couple read ahead to hide store latency, so memory stays at a few blobs whatever
 * the size. Paths are resolved before a stream is returned, so a missing path or a traversal
 * attempt is an error the caller can still answer with a status code.
 */
import { ValidationError } from "../../util/errors.ts";
import { nameToBytes } from "../scan/names.ts";
import type { Repository, Snapshot } from "../types.ts";
import { fileChunks, pullStream } from "./stream.ts";
import { outermost, tarEntries, tarLength } from "./tar-stream.ts";
import { type Resolved, resolvePath, type TreeSource } from "./trees.ts";

type BlobLoader = Pick<Repository, "loadBlob">;

export interface DownloadOptions {
  /** downloadTar: walk the trees once first to know the archive's length (default false). */
  withSize?: boolean;
  /** Blobs read ahead of the consumer (default 2; memory ≈ (ahead + 1) × the largest chunk). */
  readAhead?: number;
  signal?: AbortSignal;
}

export interface FileDownload {
  /** The file's name as stored (may hold lone surrogates: see contentDisposition). */
  name: string;
  /** Exact length of the stream (Content-Length). */
  size: number;
  mtime: string;
  mode: number;
  /** The bytes; cancelling it stops reading. Errors with IntegrityError if the repository is damaged. */
  stream: ReadableStream<Uint8Array>;
}

export interface TarDownload {
  /** A file name for the archive: "<folder>.tar", or "snapshot-<id8>.tar" for the root or a selection. */
  name: string;
  /** Exact length (Content-Length) when asked for with `withSize`, else null. */
  size: number | null;
  stream: ReadableStream<Uint8Array>;
}

/** A controller that cancelling the stream fires, and the signal that also follows the caller's. */
function linked(signal?: AbortSignal): { controller: AbortController; signal: AbortSignal } {
  const controller = new AbortController();
  return { controller, signal: signal ? AbortSignal.any([signal, controller.signal]) : controller.signal };
}

/** Opens the file at `path` for download. NotFoundError; ValidationError when it is not a file. */
export async function downloadFile(
  repo: BlobLoader,
  trees: TreeSource,
  snapshot: Pick<Snapshot, "id" | "tree">,
  path: string,
  options: DownloadOptions = {},
): Promise<FileDownload> {
  const { node } = await resolvePath(trees, snapshot, path, options.signal);
  if (node?.type !== "file") {
    throw new ValidationError(`${path}: is ${node ? `a ${node.type}` : "the root directory"}, not a file`);
  }
  const { controller, signal } = linked(options.signal);
  const chunks = fileChunks(repo, node, options.readAhead ?? 2, signal);
  return {
    name: node.name,
    size: node.size,
    mtime: node.mtime,
    mode: node.mode,
    stream: pullStream(chunks, controller),
  };
}

/**
 * A tar archive of `paths` (folders with everything below them, files, symlinks as symlinks; hard
 * links as separate copies). Names are relative to the selections' common parent: downloading
 * /home/me/docs gives "docs/...", the root gives "home/...". NotFound/Validation errors before any
 * byte; the stream errors with IntegrityError when the repository is damaged.
 */
export async function downloadTar(
  repo: BlobLoader,
  trees: TreeSource,
  snapshot: Pick<Snapshot, "id" | "tree">,
  paths: readonly string[],
  options: DownloadOptions = {},
): Promise<TarDownload> {
  if (paths.length === 0) throw new ValidationError("nothing selected");
  if (paths.length > 10_000) throw new ValidationError("too many paths selected");
  const resolved: Resolved[] = [];
  for (const p of paths) resolved.push(await resolvePath(trees, snapshot, p, options.signal));
  const selected = outermost(resolved);
  const only = selected.length === 1 ? selected[0]!.parts : [];
  const name = only.length > 0 ? `${only[only.length - 1]}.tar` : `snapshot-${snapshot.id.slice(0, 8)}.tar`;
  const size = options.withSize ? await tarLength(trees, selected, options.signal) : null;
  const { controller, signal } = linked(options.signal);
  const source = tarEntries(repo, trees, selected, options.readAhead ?? 2, signal);
  return { name, size, stream: pullStream(source, controller) };
}

/**
 * What `GET …/download?path=` serves: a file's bytes, or a tar of anything else (a folder, the
 * root, a symlink as a symlink entry). `size` is set for files, and for tars when `withSize`.
 */
export async function downloadPath(
  repo: BlobLoader,
  trees: TreeSource,
  snapshot: Pick<Snapshot, "id" | "tree">,
  path: string,
  options: DownloadOptions = {},
): Promise<{ kind: "file" | "tar"; name: string; size: number | null; stream: ReadableStream<Uint8Array> }> {
  const { node } = await resolvePath(trees, snapshot, path, options.signal);
  if (node?.type === "file")
    return { kind: "file", ...(await downloadFile(repo, trees, snapshot, path, options)) };
  return { kind: "tar", ...(await downloadTar(repo, trees, snapshot, [path], options)) };
}

/**
 * A Content-Disposition value for `name`, safe for any character: an ASCII fallback (`filename=`,
 * quotes, backslashes and controls replaced) and the exact name in RFC 5987 `filename*=` (bytes of
 * a non-UTF-8 name shown as U+FFFD, since the header is UTF-8).
 */
export function contentDisposition(name: string): string {
  const shown = nameToBytes(name).toString("utf8");
  const ascii = shown.replace(/[^\x20-\x7e]|["\\%;]/g, "_") || "download";
  const exact = encodeURIComponent(shown).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${ascii}"; filename*=UTF-8''${exact}`;
}
