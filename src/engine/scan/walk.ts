/**
 * The scanner: a depth-first walk of the backup roots that yields entries in a stable order (names
 * sorted by their bytes), lstat-based (symlinks are recorded, never followed). Directories come as
 * "enter" … "leave" pairs so a consumer can build trees bottom-up. Unreadable or vanished entries
 * become "error" entries and the walk continues; sockets, FIFOs and devices become "skip" notices.
 *
 * Entries come in batches (`walkBatches`): one iterative loop per given path, synchronous system
 * calls, and a batch handed over every few hundred entries. An async generator per entry, nested
 * once per directory level, cost a promise hop per level for every entry (most of an unchanged
 * re-backup of 200,000 files in deep folders); `walk` yields the same entries one at a time.
 */
import { type BigIntStats, lstatSync, readdirSync, readlinkSync } from "node:fs";
import { lstat, open, stat } from "node:fs/promises";
import { throwIfAborted } from "../../util/errors.ts";
import { childDisplay, joinBytes, nameFromBytes } from "./names.ts";
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

/** A directory being listed: its names (sorted) and the next one to visit. */
interface Open {
  dir: DirInfo;
  /** Path relative to the given path ("" for the given path itself). */
  rel: string;
  /** Whether its children are kept (an include matched it or an ancestor, or there are no includes). */
  keep: boolean;
  names: Buffer[];
  next: number;
}

/** Entries per batch, at most. */
const BATCH = 512;

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
  for await (const batch of walkBatches(paths, filter, signal, scan)) yield* batch;
}

/** The entries of `walk`, in the same order, a batch at a time (never an empty batch). */
export async function* walkBatches(
  paths: string[],
  filter: PathFilter,
  signal?: AbortSignal,
  scan: ScanOptions = {},
): AsyncGenerator<WalkEntry[]> {
  const ctx: Ctx = { filter, signal, scan };
  const root = buildRoots(paths);
  const path = Buffer.from("/");
  if (root.given) {
    const base = { path, display: "/", name: null };
    yield* walkGiven(ctx, base, await lstat(path, { bigint: true }), !filter.hasIncludes, true);
    return;
  }
  yield [{ kind: "enter", path, display: "/", name: null, stat: null, keep: true }];
  yield* walkChildren(ctx, root);
  yield [{ kind: "leave", path, display: "/", name: null, stat: null, keep: true }];
}

/** Intermediate directories on the way to given paths: followed (stat), only listed children. */
async function* walkChildren(ctx: Ctx, node: RootNode): AsyncGenerator<WalkEntry[]> {
  for (const child of node.children) {
    throwIfAborted(ctx.signal);
    const base: Base = { path: Buffer.from(child.path), display: child.path, name: child.name };
    let st: BigIntStats;
    try {
      st = child.given ? await lstat(base.path, { bigint: true }) : await stat(base.path, { bigint: true });
    } catch (e) {
      const missing = (e as NodeJS.ErrnoException).code === "ENOENT";
      yield [{ kind: "error", display: child.path, message: missing ? "does not exist" : message(e) }];
      continue;
    }
    if (child.given) {
      yield* walkGiven(ctx, base, st, false, false);
    } else if (st.isDirectory()) {
      yield [{ kind: "enter", ...base, stat: st, keep: true }];
      yield* walkChildren(ctx, child);
      yield [{ kind: "leave", ...base, stat: st, keep: true }];
    } else {
      yield [{ kind: "error", display: child.path, message: "not a directory" }];
    }
  }
}

/**
 * A given path and everything below it, depth first with a stack of open directories. `dirOnly`:
 * the path is "/" given as such (listed as a directory without looking at its kind).
 */
async function* walkGiven(
  ctx: Ctx,
  base: Base,
  st: BigIntStats,
  kept: boolean,
  dirOnly: boolean,
): AsyncGenerator<WalkEntry[]> {
  ctx.rootDevice = st.dev;
  const stack: Open[] = [];
  let out: WalkEntry[] = [];
  if (dirOnly) openDir(base, st, "", kept, out, stack);
  else visit(ctx, base, st, "", kept, out, stack);
  const pause = breather();
  const markers = (ctx.scan.excludeIfPresent ?? []).length > 0;
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.next >= top.names.length) {
      stack.pop();
      out.push({ ...top.dir, kind: "leave" });
      continue;
    }
    const due = pause.due();
    if (due || out.length >= BATCH) {
      if (out.length > 0) yield out;
      out = [];
      if (due) await pause.rest();
    }
    throwIfAborted(ctx.signal);
    const raw = top.names[top.next++]!;
    const name = nameFromBytes(raw);
    const path = joinBytes(top.dir.path, raw);
    const display = childDisplay(top.dir.display, name, path);
    const child = lstatEntry(path);
    if (child instanceof Error) {
      out.push({ kind: "error", display, message: message(child) });
      continue;
    }
    const rel = top.rel === "" ? name : `${top.rel}/${name}`;
    const isDir = child.isDirectory();
    if (ctx.filter.excluded(rel, display, isDir)) continue;
    if (isDir && markers && (await markedExcluded(ctx.scan, path))) continue;
    const matched = top.keep || ctx.filter.included(rel, display, isDir);
    visit(ctx, { path, display, name: name }, child, rel, matched, out, stack);
  }
  if (out.length > 0) yield out;
}

/** One entry below (or at) a given path; `rel` is "" for the given path itself. */
function visit(
  ctx: Ctx,
  base: Base,
  st: BigIntStats,
  rel: string,
  kept: boolean,
  out: WalkEntry[],
  stack: Open[],
): void {
  const keep = kept || !ctx.filter.hasIncludes || rel === "";
  switch (kindOf(st)) {
    case "dir":
      if (rel !== "" && ctx.scan.oneFileSystem && st.dev !== ctx.rootDevice) {
        // A mount point: kept as an empty folder, so a restore recreates where to mount.
        const k = kept || !ctx.filter.hasIncludes;
        out.push(
          { kind: "enter", ...base, stat: st, keep: k },
          { kind: "leave", ...base, stat: st, keep: k },
        );
        return;
      }
      openDir(base, st, rel, kept || !ctx.filter.hasIncludes, out, stack);
      return;
    case "file":
      if (keep) out.push({ kind: "file", ...base, stat: st });
      return;
    case "symlink":
      if (!keep) return;
      try {
        const target = nameFromBytes(readlinkSync(base.path, { encoding: "buffer" }));
        out.push({ kind: "symlink", ...base, stat: st, target });
      } catch (e) {
        out.push({ kind: "error", display: base.display, message: message(e) });
      }
      return;
    default:
      out.push({ kind: "skip", display: base.display, message: `${specialKind(st)} skipped` });
  }
}

/** Enters a directory: its "enter" entry, then its listing (sorted by name bytes) goes on the stack. */
function openDir(
  base: Base,
  st: BigIntStats,
  rel: string,
  keep: boolean,
  out: WalkEntry[],
  stack: Open[],
): void {
  // A given directory is kept even when no include matches inside it.
  const dir: DirInfo = { ...base, stat: st, keep: keep || rel === "" };
  out.push({ ...dir, kind: "enter" });
  let names: Buffer[] = [];
  try {
    names = readdirSync(base.path, { encoding: "buffer" }).sort(Buffer.compare);
  } catch (e) {
    out.push({ kind: "error", display: base.display, message: message(e) });
  }
  stack.push({ dir, rel, keep, names, next: 0 });
}

/**
 * The lstat of a path, synchronously, or the error: a thread-pool round trip per entry (a wake-up
 * write, an epoll wait, futexes) cost several times the stat itself — on 200,000 files an
 * unchanged re-backup made 209,000 writes and 148,000 epoll waits besides its 204,000 stats. The
 * event loop still gets its turn: the walk rests a macrotask every few milliseconds (`breather`).
 */
function lstatEntry(path: Buffer): BigIntStats | Error {
  try {
    return lstatSync(path, { bigint: true });
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
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

/** Sync work between two turns of the event loop (timers, requests, progress). */
const SLICE_MS = 4;

/** Tells, when asked often, once SLICE_MS of sync work have passed; `rest` gives the event loop a turn. */
function breather() {
  let since = performance.now();
  let asked = 0;
  return {
    due(): boolean {
      // performance.now() every entry would cost more than some entries do.
      return ++asked % 32 === 0 && performance.now() - since >= SLICE_MS;
    },
    async rest(): Promise<void> {
      await new Promise<void>((go) => setImmediate(go));
      since = performance.now();
    },
  };
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
  for await (const batch of walkBatches(paths, filter, signal, scan)) {
    for (const e of batch) {
      if (e.kind !== "file") continue;
      files++;
      bytes += Number(e.stat.size);
      if (files % 1000 === 0) onUpdate(files, bytes);
    }
  }
  return { files, bytes };
}
