/**
 * Consumes the scanner's walk and builds trees bottom-up: each directory's tree is saved when the
 * directory is left, once its files are stored, so memory holds the open directories' listings,
 * not the whole snapshot. Files are read a few at a time (a shared limiter); per-file problems
 * become FileErrors, anything else (repository failure, cancellation) stops the run.
 *
 * An entry that matches its node in the parent snapshot (unchanged file, folder or symlink) is
 * handled synchronously and keeps the parent's node object; a folder whose nodes all are the
 * parent's, and as many, is the parent's tree: its id is reused without encoding or hashing it.
 */
import type { BigIntStats } from "node:fs";
import { CancelledError, ValidationError } from "../../util/errors.ts";
import type { Progress } from "../progress.ts";
import type { WalkEntry } from "../scan/walk.ts";
import { compareNames, encodeTree } from "../tree.ts";
import type { BlobId, FileError, Repository, SnapshotSummary, TreeNode } from "../types.ts";
import { readXattrs } from "../xattr.ts";
import { ChunkerPool } from "./chunkers.ts";
import { FileReadError, SYNC_FILE_MAX, saveFile } from "./file.ts";
import { Budget, Limiter } from "./limiter.ts";
import { nodeFromStat, sameMetadata, sameXattrs, unchangedSince } from "./node.ts";
import { loadParentDir, type ParentDir, parentSubtree } from "./parent.ts";
import type { Matched, Totals } from "./totals.ts";
import type { FileListener } from "./types.ts";

function sameContent(a: TreeNode, b: TreeNode): boolean {
  return a.size === b.size && (a.content ?? []).join() === (b.content ?? []).join();
}

interface Frame {
  entry: Extract<WalkEntry, { kind: "enter" }>;
  nodes: TreeNode[];
  pending: Promise<void>[];
  parent: ParentDir;
  /** The parent snapshot's tree of this folder, if it had one. */
  parentId: BlobId | undefined;
  /** True while every node added is the parent's own node (see `add`). */
  same: boolean;
  /** Parent files found here (for the progress totals' estimate). */
  matched: Matched;
}

export interface ArchiverOptions {
  repo: Repository;
  signal: AbortSignal;
  full: boolean;
  readConcurrency: number;
  progress: Progress;
  onError(e: FileError): void;
  onNotice(e: FileError): void;
  onFile?: FileListener;
  /** Progress totals estimated from the parent snapshot (else a counting walk gives them). */
  totals?: Totals;
  /** Store extended attributes (repository format 2, unless --no-xattrs). */
  xattrs?: boolean;
  /**
   * The parent snapshot read every entry's attributes (Snapshot.xattrs): an entry whose metadata,
   * ctime included, is that of its parent node keeps the node's attributes without listing them.
   */
  parentReadXattrs?: boolean;
}

/**
 * Small files waiting for their blob to be sealed: several seal batches' worth (seal-batch.ts), so
 * the walk fills the next batch while a worker seals the last.
 */
const SMALL_FILES_IN_FLIGHT = 256;
/**
 * ...and at most this many of their bytes. Tiny files (a few hundred bytes, where the count is
 * what keeps batches full) get ~256 in flight. Session 7 (bench/RESULTS.md) set 256 KiB, ~40 files
 * of the medium tree's ~7 KiB: 256 in flight peaked ~35 MiB higher at no gain in speed then. Session
 * 10, on another machine, interleaved medium backups: 256 KiB was the slower in 12 of 13 pairs
 * against 1-4 MiB (rounds' medians 6.4-7.3 s against 5.2-5.7 s), peak RSS ~+40 MiB. With so few
 * files in flight the walk stalled whenever the seal worker was busy and the worker idled while
 * the walk caught up: each thread was only ~56 % busy. On 40,000 files of ~1 KiB, 8 in flight
 * cost 40% more CPU (a batch message per few blobs).
 */
export const SMALL_BYTES_IN_FLIGHT = 2 * 1024 * 1024;

type Counters = Omit<SnapshotSummary, "duration_ms" | "errors">;
/** A walk entry whose attributes may be stored: a directory, file or symlink. */
type WithStat = { path: Buffer; display: string; stat: BigIntStats | null };

export class Archiver {
  readonly counters: Counters = {
    files_new: 0,
    files_changed: 0,
    files_unmodified: 0,
    dirs: 0,
    bytes_processed: 0,
    bytes_added: 0,
    bytes_stored: 0,
  };
  private readonly stack: Frame[] = [];
  private readonly limiter: Limiter;
  /** Small files (read synchronously) in flight: enough to fill seal batches while some seal. */
  private readonly smallLimiter = new Limiter(SMALL_FILES_IN_FLIGHT);
  private readonly smallBytes = new Budget(SMALL_BYTES_IN_FLIGHT);
  private readonly chunkers: ChunkerPool;
  private fatal: unknown = null;
  private rootTree: BlobId | null = null;

  constructor(
    private readonly o: ArchiverOptions,
    private readonly rootParent: BlobId | undefined,
  ) {
    this.limiter = new Limiter(Math.max(1, o.readConcurrency));
    this.chunkers = new ChunkerPool(o.repo.chunker);
  }

  /** The root tree id, once the walk is consumed. */
  get root(): BlobId {
    if (this.rootTree === null) throw new ValidationError("the walk ended without a root");
    return this.rootTree;
  }

  /** Takes the next walk entry; a promise when it has to wait (await it before the next entry). */
  consume(entry: WalkEntry): Promise<void> | undefined {
    this.check();
    switch (entry.kind) {
      case "enter":
        return this.enter(entry);
      case "leave":
        return this.leave();
      case "file":
        return this.file(entry);
      case "symlink":
        this.symlink(entry);
        return;
      case "error":
        this.o.progress.error(entry.display, entry.message);
        this.o.onError({ path: entry.display, message: entry.message });
        return;
      case "skip":
        this.o.onNotice({ path: entry.display, message: entry.message });
    }
  }

  private check(): void {
    if (this.fatal) throw this.fatal;
    if (this.o.signal.aborted) throw new CancelledError("backup cancelled", { cause: this.o.signal.reason });
  }

  private top(): Frame {
    const f = this.stack.at(-1);
    if (!f) throw new ValidationError("walk entry outside a directory");
    return f;
  }

  private async enter(entry: Extract<WalkEntry, { kind: "enter" }>): Promise<void> {
    const up = this.stack.at(-1);
    const parentId = up ? parentSubtree(up.parent, entry.name ?? "") : this.rootParent;
    const parent = await loadParentDir(this.o.repo, parentId, this.o.signal);
    const matched = { files: 0, bytes: 0 };
    this.stack.push({ entry, nodes: [], pending: [], parent, parentId, same: parent !== null, matched });
  }

  /** Adds a node to a folder; `reused`: it is the parent's node for the same name, unchanged. */
  private add(frame: Frame, node: TreeNode, reused: boolean): void {
    frame.nodes.push(node);
    if (!reused) frame.same = false;
  }

  /**
   * Leaving a folder does not hold up the walk: its tree is saved once its files are stored, and
   * the folder above waits for that instead (it cannot be closed before). Waiting here kept at
   * most one folder's files in flight, so tiny files went to the seal workers 50 at a time.
   */
  private leave(): Promise<void> | undefined {
    const frame = this.stack.pop();
    if (!frame) throw new ValidationError("unbalanced walk");
    this.o.totals?.left(frame.parent, frame.matched);
    const up = this.stack.at(-1);
    if (frame.pending.length === 0) return this.close(frame, up);
    const closed = Promise.all(frame.pending).then(() => this.close(frame, up));
    if (!up) return closed;
    // Never rejects (a failure becomes the run's fatal error, thrown at the next entry or drain).
    up.pending.push(
      closed.catch((e: unknown) => {
        this.fatal ??= e;
      }),
    );
  }

  /** Saves a folder's tree once its files are stored, and adds the folder to the one above. */
  private close(frame: Frame, up: Frame | undefined): Promise<void> | undefined {
    this.check();
    const { entry } = frame;
    if (!entry.keep && frame.nodes.length === 0) return;
    // Each node is the parent's node of its name (names are unique), and none is missing.
    const reuse =
      frame.same &&
      frame.parentId !== undefined &&
      frame.nodes.length === frame.parent?.size &&
      this.o.repo.hasBlob("tree", frame.parentId);
    if (reuse) return this.closed(entry, frame.parentId!, up);
    return this.saveTree(this.uniqueNodes(frame.nodes, entry.display)).then((id) =>
      this.closed(entry, id, up),
    );
  }

  private closed(entry: Frame["entry"], id: BlobId, up: Frame | undefined): undefined {
    if (entry.name === null) {
      this.rootTree = id;
      return;
    }
    this.counters.dirs++;
    if (!entry.stat) throw new ValidationError("directory without stat");
    if (!up) throw new ValidationError("walk entry outside a directory");
    const prev = up.parent?.get(entry.name);
    const attrs = this.attrs(entry, prev);
    if (prev?.type === "dir" && prev.subtree === id && this.reusable(prev, entry.stat, attrs)) {
      this.add(up, prev, true);
    } else {
      this.add(up, { ...nodeFromStat(entry.name, "dir", entry.stat), subtree: id, ...attrs }, false);
    }
  }

  /** True when `prev` (of the right type, content or target) also has `st`'s metadata and `attrs`. */
  private reusable(prev: TreeNode, st: BigIntStats, attrs: Pick<TreeNode, "xattrs">): boolean {
    return sameMetadata(prev, st) && sameXattrs(prev.xattrs, attrs.xattrs);
  }

  private symlink(entry: Extract<WalkEntry, { kind: "symlink" }>): void {
    const frame = this.top();
    const name = entry.name ?? "";
    const prev = frame.parent?.get(name);
    const attrs = this.attrs(entry, prev);
    if (
      prev?.type === "symlink" &&
      prev.target === entry.target &&
      prev.size === 0 &&
      this.reusable(prev, entry.stat, attrs)
    ) {
      this.add(frame, prev, true);
      return;
    }
    this.add(frame, { ...nodeFromStat(name, "symlink", entry.stat), target: entry.target, ...attrs }, false);
  }

  /**
   * Names that differ only in invalid UTF-8 bytes compare equal as UTF-8; keep the first. The
   * folder is passed in: its frame is already popped, so the stack top is its parent (or none).
   */
  private uniqueNodes(nodes: TreeNode[], folder: string): TreeNode[] {
    const sorted = [...nodes].sort((a, b) => compareNames(a.name, b.name));
    return sorted.filter((n, i) => {
      const dup = i > 0 && compareNames(sorted[i - 1]!.name, n.name) === 0;
      if (dup)
        this.fileError(
          `${folder.endsWith("/") ? folder.slice(0, -1) : folder}/${n.name}`,
          "name collides with another after UTF-8 encoding",
        );
      return !dup;
    });
  }

  private async saveTree(nodes: TreeNode[]): Promise<BlobId> {
    const bytes = encodeTree({ nodes });
    const id = this.o.repo.blobId(bytes);
    const r = await this.o.repo.saveBlob("tree", id, bytes, this.o.signal);
    if (r.added) {
      this.counters.bytes_added += bytes.length;
      this.counters.bytes_stored += r.storedBytes;
    }
    return id;
  }

  private fileError(path: string, message: string): void {
    this.o.progress.error(path, message);
    this.o.onError({ path, message });
  }

  private file(entry: Extract<WalkEntry, { kind: "file" }>): Promise<void> | undefined {
    const frame = this.top();
    const name = entry.name ?? "";
    const prev = frame.parent?.get(name);
    const size = Number(entry.stat.size);
    this.o.totals?.found(prev, size, frame.matched);
    if (!this.o.full && unchangedSince(prev, entry.stat) && this.stored(prev.content!)) {
      const attrs = this.attrs(entry, prev);
      if (this.reusable(prev, entry.stat, attrs)) this.add(frame, prev, true);
      else
        this.add(
          frame,
          { ...nodeFromStat(name, "file", entry.stat), size, content: prev.content!, ...attrs },
          false,
        );
      this.counters.files_unmodified++;
      this.o.onFile?.(entry.display, "unmodified", size);
      this.counters.bytes_processed += size;
      this.o.progress.addBytes(size);
      this.o.progress.fileDone(entry.display);
      return;
    }
    frame.same = false;
    return this.readLater(entry, frame, prev?.type === "file" ? prev : undefined);
  }

  private stored(content: BlobId[]): boolean {
    for (const id of content) if (!this.o.repo.hasBlob("data", id)) return false;
    return true;
  }

  /** Starts reading a file once a reader is free (the folder waits for it when it is left). */
  private async readLater(entry: Extract<WalkEntry, { kind: "file" }>, frame: Frame, prev?: TreeNode) {
    const size = Number(entry.stat.size);
    const small = size <= SYNC_FILE_MAX;
    const release = await (small ? this.smallLimiter : this.limiter).acquire();
    const releaseBytes = small ? await this.smallBytes.acquire(size) : () => {};
    try {
      this.check();
    } catch (e) {
      releaseBytes();
      release();
      throw e;
    }
    frame.pending.push(
      this.readFile(entry, frame, prev).finally(() => {
        releaseBytes();
        release();
      }),
    );
  }

  /** Never rejects: file problems are recorded, anything else becomes the run's fatal error. */
  private async readFile(
    entry: Extract<WalkEntry, { kind: "file" }>,
    frame: Frame,
    prev?: TreeNode,
  ): Promise<void> {
    const p = this.o.progress;
    p.fileStarted(entry.display);
    try {
      const ctx = {
        repo: this.o.repo,
        signal: this.o.signal,
        onBytes: (n: number) => p.addBytes(n),
        chunkers: this.chunkers,
      };
      const saved = await saveFile(ctx, entry.path, entry.name ?? "", Number(entry.stat.size));
      this.add(frame, { ...saved.node, ...this.attrs(entry, prev) }, false);
      // Re-read (metadata changed, or full) but the same content: unmodified, as restic counts it.
      const status = !prev ? "new" : sameContent(prev, saved.node) ? "unmodified" : "changed";
      this.counters[`files_${status}`]++;
      this.o.onFile?.(entry.display, status, saved.node.size);
      this.counters.bytes_processed += saved.node.size;
      this.counters.bytes_added += saved.bytesAdded;
      this.counters.bytes_stored += saved.bytesStored;
      if (saved.changedWhileReading)
        this.o.onNotice({ path: entry.display, message: "changed while being read" });
    } catch (e) {
      if (e instanceof FileReadError) this.fileError(entry.display, e.message);
      else this.fatal ??= e;
    } finally {
      p.fileDone(entry.display);
    }
  }

  /**
   * `{xattrs}` for a node when attributes are stored and the entry has some; a read failure is a
   * notice. The parent node's, unread, when the parent snapshot read them and the entry's metadata
   * is unchanged: setting or removing an attribute changes the ctime (not on --full).
   */
  private attrs(entry: WithStat, prev: TreeNode | undefined): Pick<TreeNode, "xattrs"> {
    if (!this.o.xattrs) return {};
    if (prev && this.o.parentReadXattrs && !this.o.full && entry.stat && sameMetadata(prev, entry.stat)) {
      return prev.xattrs && prev.xattrs.length > 0 ? { xattrs: prev.xattrs } : {};
    }
    const { path, display } = entry;
    try {
      const list = readXattrs(path);
      if (list.length === 0) return {};
      return { xattrs: list.map((x) => ({ name: x.name, value: Buffer.from(x.value).toString("base64") })) };
    } catch (e) {
      this.o.onNotice({ path: display, message: `extended attributes not saved: ${(e as Error).message}` });
      return {};
    }
  }

  /**
   * Waits for every file and folder in flight (after a failure, so nothing runs on after the call
   * returns); a left folder's files are in the pending list of the folder above it.
   */
  async drain(): Promise<void> {
    await Promise.allSettled(this.stack.flatMap((f) => f.pending));
  }
}
