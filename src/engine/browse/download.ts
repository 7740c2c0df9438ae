/**
 * Downloads: one file as its bytes, a folder or a selection as a tar stream. Both are pulled: a
 * blob is read (and decrypted, decompressed, verified by loadBlob) only when the consumer wants
 * more, with a couple read ahead to hide store latency, so memory stays at a few blobs whatever
 * the size. Paths are resolved before a stream is returned, so a missing path or a traversal
 * attempt is an error the caller can still answer with a status code.
 */
import { CancelledError, IntegrityError, ValidationError } from "../../util/errors.ts";
import { nameToBytes } from "../scan/names.ts";
import type { Repository, Snapshot, TreeNode } from "../types.ts";
import { padding, tarEnd, tarHeader } from "./tar.ts";
import { resolvePath, type TreeSource } from "./trees.ts";
import { walkFrames } from "./walk.ts";

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

/**
 * A file's content blob by blob, `ahead` blobs loading ahead. IntegrityError when the blobs do not
 * add up to the node's size (the size was promised to the consumer before the first byte).
 */
export async function* fileChunks(
  repo: BlobLoader,
  node: TreeNode,
  ahead = 2,
  signal?: AbortSignal,
): AsyncGenerator<Uint8Array> {
  const ids = node.content ?? [];
  const loads: Promise<Uint8Array>[] = [];
  let next = 0;
  let total = 0;
  const fill = () => {
    while (next < ids.length && loads.length <= ahead) {
      const p = repo.loadBlob("data", ids[next++]!, signal);
      p.catch(() => {}); // awaited below, or dropped when the consumer stops
      loads.push(p);
    }
  };
  // While the consumer holds a chunk, `ahead` more are loading.
  for (fill(); loads.length > 0; fill()) {
    const data = await loads.shift()!;
    total += data.length;
    if (total > node.size) break;
    yield data;
  }
  if (total !== node.size) {
    throw new IntegrityError(`${node.name}: content is ${total} bytes, the tree says ${node.size}`);
  }
}

/**
 * A pull-driven web stream over `source`: each read pulls one chunk, so a slow consumer slows the
 * reading. Cancelling the stream aborts `controller` (stopping reads in flight) and ends `source`.
 */
export function pullStream(
  source: AsyncGenerator<Uint8Array>,
  controller: AbortController,
): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      async pull(c) {
        const r = await source.next();
        if (r.done) c.close();
        else c.enqueue(r.value);
      },
      async cancel(reason) {
        controller.abort(reason ?? new CancelledError("download cancelled"));
        await source.return(undefined).catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );
}

function linkedController(signal?: AbortSignal): AbortController {
  const controller = new AbortController();
  if (signal?.aborted) controller.abort(signal.reason);
  signal?.addEventListener("abort", () => controller.abort(signal.reason), { once: true });
  return controller;
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
  const controller = linkedController(options.signal);
  const chunks = fileChunks(repo, node, options.readAhead ?? 2, controller.signal);
  return {
    name: node.name,
    size: node.size,
    mtime: node.mtime,
    mode: node.mode,
    stream: pullStream(chunks, controller),
  };
}

interface Selected {
  node: TreeNode | null;
  parts: string[];
  tree: string | undefined;
}

/** Drops selections inside another one and duplicates (each entry goes into the archive once). */
function outermost(selected: Selected[]): Selected[] {
  const key = (s: Selected) => `${s.parts.join("/")}/`;
  const sorted = [...selected].sort((a, b) => a.parts.length - b.parts.length);
  const kept: Selected[] = [];
  for (const s of sorted) if (!kept.some((k) => key(s).startsWith(key(k)))) kept.push(s);
  return kept.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** Components shared by the parents of every selection: archive names are relative to it. */
function commonParent(selected: Selected[]): number {
  let n = Math.min(...selected.map((s) => Math.max(0, s.parts.length - 1)));
  for (const s of selected) {
    for (let i = 0; i < n; i++) if (s.parts[i] !== selected[0]!.parts[i]) n = i;
  }
  return n;
}

function header(node: TreeNode, path: string): Buffer {
  return tarHeader({
    path: nameToBytes(path),
    type: node.type,
    mode: node.mode,
    uid: node.uid,
    gid: node.gid,
    size: node.type === "file" ? node.size : 0,
    mtime: node.mtime,
    target: node.type === "symlink" ? nameToBytes(node.target ?? "") : undefined,
  });
}

/** Every node the archive holds, with its archive name, in archive order (reads trees only). */
async function* tarNodes(
  trees: TreeSource,
  selected: Selected[],
  signal?: AbortSignal,
): AsyncGenerator<{ node: TreeNode; path: string }> {
  const skip = commonParent(selected);
  for (const s of selected) {
    const base = s.parts.slice(skip).join("/");
    if (s.node) yield { node: s.node, path: base };
    if (s.tree === undefined) continue;
    const root = { nodes: (await trees.loadTree(s.tree, signal)).nodes, next: 0, base };
    for await (const { node, path } of walkFrames(trees, [root], signal)) {
      yield { node, path: path.startsWith("/") ? path.slice(1) : path };
    }
  }
}

async function* tarEntries(
  repo: BlobLoader,
  trees: TreeSource,
  selected: Selected[],
  ahead: number,
  signal: AbortSignal,
): AsyncGenerator<Uint8Array> {
  for await (const { node, path } of tarNodes(trees, selected, signal)) {
    yield header(node, path);
    if (node.type !== "file") continue;
    yield* fileChunks(repo, node, ahead, signal);
    const pad = padding(node.size);
    if (pad > 0) yield Buffer.alloc(pad);
  }
  yield tarEnd();
}

/** The archive's exact length, from the trees alone (a second walk; cheap with a TreeCache). */
async function tarLength(trees: TreeSource, selected: Selected[], signal?: AbortSignal): Promise<number> {
  let total = tarEnd().length;
  for await (const { node, path } of tarNodes(trees, selected, signal)) {
    total += header(node, path).length;
    if (node.type === "file") total += node.size + padding(node.size);
  }
  return total;
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
  const resolved: Selected[] = [];
  for (const p of paths) resolved.push(await resolvePath(trees, snapshot, p, options.signal));
  const selected = outermost(resolved);
  const only = selected.length === 1 ? selected[0]!.parts : [];
  const name = only.length > 0 ? `${only[only.length - 1]}.tar` : `snapshot-${snapshot.id.slice(0, 8)}.tar`;
  const size = options.withSize ? await tarLength(trees, selected, options.signal) : null;
  const controller = linkedController(options.signal);
  const source = tarEntries(repo, trees, selected, options.readAhead ?? 2, controller.signal);
  return { name, size, stream: pullStream(source, controller) };
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
