/**
 * The scanner: a depth-first walk of the backup roots that yields entries in a stable order (names
 * sorted by their bytes), lstat-based (symlinks are recorded, never followed). Directories come as
 * "enter" … "leave" pairs so a consumer can build trees bottom-up. Unreadable or vanished entries
 * become "error" entries and the walk continues; sockets, FIFOs and devices become "skip" notices.
 */
import { type BigIntStats, lstatSync } from "node:fs";
import { lstat, open, readdir, readlink, stat } from "node:fs/promises";
import { throwIfAborted } from "../../util/errors.ts";
import { displayPath, joinBytes, nameFromBytes } from "./names.ts";
import type { PathFilter } from "./patterns.ts";
import { buildRoots, type RootNode } from "./roots.ts";

interface Base {
  /** Byte path for filesystem calls. */
  path: Buffer;
  /** Printable path for messages. */
  display: string;
  /** Tree name (see names.ts); null for the root "/". */
  name: string | null;
}

/** A directory: its stat (null for the virtual root "/") and whether to keep it when empty. */
type DirInfo = Base & { stat: BigIntStats | null; keep: boolean };

export type WalkEntry =
  | (DirInfo & { kind: "enter" })
  | (DirInfo & { kind: "leave" })
  | (Base & { kind: "file"; stat: BigIntStats })
  | (Base & { kind: "symlink"; stat: BigIntStats; target: string })
  | { kind: "error" | "skip"; display: string; message: string };

export type FileKind = "file" | "dir" | "symlink" | "other";

export function kindOf(st: BigIntStats): FileKind {
  if (st.isFile()) return "file";
  if (st.isDirectory()) return "dir";
  if (st.isSymbolicLink()) return "symlink";
  return "other";
}

function specialKind(st: BigIntStats): string {
  if (st.isFIFO()) return "FIFO";
  if (st.isSocket()) return "socket";
  if (st.isCharacterDevice()) return "character device";
  if (st.isBlockDevice()) return "block device";
  return "special file";
}

function message(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err?.code === "ENOENT") return "vanished during the backup";
  return err?.message ?? String(e);
}

/** What the walk leaves out beyond patterns (restic's flags of the same names). */
export interface ScanOptions {
  /** Do not descend into folders on another file system than their given path (mount points stay, empty). */
  oneFileSystem?: boolean;
  /**
   * Leave out folders holding one of these files: "NAME", or "NAME:HEADER" when the file must start
   * with HEADER (CACHEDIR_TAG for --exclude-caches).
   */
  excludeIfPresent?: string[];
}

/** The Cache Directory Tagging Specification's marker (bford.info/cachedir). */
export const CACHEDIR_TAG = "CACHEDIR.TAG:Signature: 8a477f597d28d172789f06886806bc55";

interface Ctx {
  filter: PathFilter;
  signal?: AbortSignal;
  scan: ScanOptions;
  /** Device of the given path being walked (for oneFileSystem). */
  rootDevice?: bigint;
}

/**
 * Walks the roots built from normalized absolute paths. For entries below a given path, `keep` on a
 * directory says whether it matched an include itself or through an ancestor (always true without
 * includes); files and symlinks are yielded only when kept. Excluded entries are not yielded.
 */
export async function* walk(
  paths: string[],
  filter: PathFilter,
  signal?: AbortSignal,
  scan: ScanOptions = {},
): AsyncGenerator<WalkEntry> {
  const ctx: Ctx = { filter, signal, scan };
  const root = buildRoots(paths);
  const path = Buffer.from("/");
  if (root.given) {
    yield* walkDir(
      ctx,
      { path, display: "/", name: null },
      await lstat(path, { bigint: true }),
      "",
      !filter.hasIncludes,
    );
    return;
  }
  yield { kind: "enter", path, display: "/", name: null, stat: null, keep: true };
  yield* walkChildren(ctx, root);
  yield { kind: "leave", path, display: "/", name: null, stat: null, keep: true };
}

/** Intermediate directories on the way to given paths: followed (stat), only listed children. */
async function* walkChildren(ctx: Ctx, node: RootNode): AsyncGenerator<WalkEntry> {
  for (const child of node.children) {
    throwIfAborted(ctx.signal);
    const base: Base = { path: Buffer.from(child.path), display: child.path, name: child.name };
    let st: BigIntStats;
    try {
      st = child.given ? await lstat(base.path, { bigint: true }) : await stat(base.path, { bigint: true });
    } catch (e) {
      const missing = (e as NodeJS.ErrnoException).code === "ENOENT";
      yield { kind: "error", display: child.path, message: missing ? "does not exist" : message(e) };
      continue;
    }
    if (child.given) {
      yield* walkEntry(ctx, base, st, "", false);
    } else if (st.isDirectory()) {
      yield { kind: "enter", ...base, stat: st, keep: true };
      yield* walkChildren(ctx, child);
      yield { kind: "leave", ...base, stat: st, keep: true };
    } else {
      yield { kind: "error", display: child.path, message: "not a directory" };
    }
  }
}

/** One entry below (or at) a given path; `rel` is "" for the given path itself. */
async function* walkEntry(
  ctx: Ctx,
  base: Base,
  st: BigIntStats,
  rel: string,
  kept: boolean,
): AsyncGenerator<WalkEntry> {
  const keep = kept || !ctx.filter.hasIncludes || rel === "";
  if (rel === "") ctx.rootDevice = st.dev;
  switch (kindOf(st)) {
    case "dir":
      if (rel !== "" && (await markedExcluded(ctx.scan, base.path))) return;
      if (rel !== "" && ctx.scan.oneFileSystem && st.dev !== ctx.rootDevice) {
        // A mount point: kept as an empty folder, so a restore recreates where to mount.
        const k = kept || !ctx.filter.hasIncludes;
        yield { kind: "enter", ...base, stat: st, keep: k };
        yield { kind: "leave", ...base, stat: st, keep: k };
        return;
      }
      yield* walkDir(ctx, base, st, rel, kept || !ctx.filter.hasIncludes);
      return;
    case "file":
      if (keep) yield { kind: "file", ...base, stat: st };
      return;
    case "symlink":
      if (!keep) return;
      try {
        const target = nameFromBytes(await readlink(base.path, { encoding: "buffer" }));
        yield { kind: "symlink", ...base, stat: st, target };
      } catch (e) {
        yield { kind: "error", display: base.display, message: message(e) };
      }
      return;
    default:
      yield { kind: "skip", display: base.display, message: `${specialKind(st)} skipped` };
  }
}

/**
 * The lstat of each name, synchronously: a thread-pool round trip per entry (a wake-up write, an
 * epoll wait, futexes) cost several times the stat itself — on 200,000 files an unchanged
 * re-backup made 209,000 writes and 148,000 epoll waits besides its 204,000 stats. The event loop
 * still gets its turn: the walk yields a macrotask every few milliseconds (see `breather`).
 */
function lstatEntry(path: Buffer): Lstated {
  try {
    return { path, stat: lstatSync(path, { bigint: true }) };
  } catch (error) {
    return { path, error };
  }
}

/** True when `dir` holds one of the marker files of excludeIfPresent (with its header, if given). */
async function markedExcluded(scan: ScanOptions, dir: Buffer): Promise<boolean> {
  for (const spec of scan.excludeIfPresent ?? []) {
    const colon = spec.indexOf(":");
    const name = colon === -1 ? spec : spec.slice(0, colon);
    const header = colon === -1 ? "" : spec.slice(colon + 1);
    const path = joinBytes(dir, Buffer.from(name));
    try {
      if (!(await lstat(path)).isFile()) continue;
      if (header === "") return true;
      const file = await open(path, "r");
      try {
        const want = Buffer.from(header);
        const got = Buffer.alloc(want.length);
        const { bytesRead } = await file.read(got, 0, want.length, 0);
        if (bytesRead === want.length && got.equals(want)) return true;
      } finally {
        await file.close();
      }
    } catch {
      // No marker here (or unreadable): the folder is kept.
    }
  }
  return false;
}

interface Lstated {
  path: Buffer;
  stat?: BigIntStats;
  error?: unknown;
}

/** Sync work between two turns of the event loop (timers, requests, progress). */
const SLICE_MS = 4;

/** Returns a function that, called often, yields to the event loop once SLICE_MS have passed. */
function breather(): () => Promise<void> | undefined {
  let since = performance.now();
  return () => {
    const now = performance.now();
    if (now - since < SLICE_MS) return undefined;
    since = now;
    return new Promise<void>((go) => setImmediate(go)).then(() => {
      since = performance.now();
    });
  };
}

async function* walkDir(
  ctx: Ctx,
  base: Base,
  st: BigIntStats,
  rel: string,
  keep: boolean,
): AsyncGenerator<WalkEntry> {
  // A given directory is kept even when no include matches inside it.
  yield { kind: "enter", ...base, stat: st, keep: keep || rel === "" };
  let names: Buffer[] = [];
  try {
    names = (await readdir(base.path, { encoding: "buffer" })).sort(Buffer.compare);
  } catch (e) {
    yield { kind: "error", display: base.display, message: message(e) };
  }
  const pause = breather();
  for (const raw of names) {
    await pause();
    throwIfAborted(ctx.signal);
    const name = nameFromBytes(raw);
    const { path, stat: child, error } = lstatEntry(joinBytes(base.path, raw));
    const display = displayPath(path);
    if (!child) {
      yield { kind: "error", display, message: message(error) };
      continue;
    }
    const childRel = rel === "" ? name : `${rel}/${name}`;
    const isDir = child.isDirectory();
    if (ctx.filter.excluded(childRel, display, isDir)) continue;
    const matched = keep || ctx.filter.included(childRel, display, isDir);
    yield* walkEntry(ctx, { path, display, name }, child, childRel, matched);
  }
  yield { kind: "leave", ...base, stat: st, keep: keep || rel === "" };
}

/** Totals for progress: files and bytes the walk will see. Abortable; errors are ignored. */
export async function countTotals(
  paths: string[],
  filter: PathFilter,
  signal: AbortSignal | undefined,
  onUpdate: (files: number, bytes: number) => void,
  scan: ScanOptions = {},
): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  for await (const e of walk(paths, filter, signal, scan)) {
    if (e.kind !== "file") continue;
    files++;
    bytes += Number(e.stat.size);
    if (files % 1000 === 0) onUpdate(files, bytes);
  }
  return { files, bytes };
}
