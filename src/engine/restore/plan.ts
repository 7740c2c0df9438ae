/**
 * Restoring a batch of files pack by pack (as restic's restorer does): every needed blob is looked
 * up, blobs are grouped by pack and merged into a few range reads, and each blob, once read and
 * authenticated, is written to every file position that needs it (a blob shared by many files, or
 * repeated inside one, is downloaded once per batch). Files already correct in the target are
 * skipped first. A blob that cannot be read fails only the files that need it.
 */
import { IntegrityError, NotFoundError, throwIfAborted } from "../../util/errors.ts";
import { Limiter } from "../backup/limiter.ts";
import type { IndexEntry } from "../repository/blob-index.ts";
import { mapLimit } from "../repository/map-limit.ts";
import {
  type CoalesceOptions,
  coalesce,
  DEFAULT_COALESCE,
  type PackRange,
  type PackSource,
  readRanges,
} from "../repository/pack-reader.ts";
import type { Repository } from "../types.ts";
import { ASYNC_WRITE_MIN } from "./blob-write.ts";
import { alreadyThere, type FileJob, FileSink, HandleBudget } from "./sink.ts";
import type { OverwriteMode } from "./types.ts";

/** What a batch reports back, per file. */
export interface BatchEvents {
  skipped(job: FileJob): void;
  started(job: FileJob): void;
  restored(job: FileJob): void;
  failed(job: FileJob, error: unknown): void;
  /** Plaintext bytes written. */
  bytes(n: number): void;
}

export interface BatchOptions {
  repo: Repository & PackSource;
  verify: boolean;
  /** See RestoreOptions.overwrite (default "if-changed"). */
  overwrite?: OverwriteMode;
  signal: AbortSignal;
  events: BatchEvents;
  /** Range reads in flight (default 6). */
  readers?: number;
  coalesce?: CoalesceOptions;
  handles?: HandleBudget;
  /** Blob writes (and file completions) in flight (default 16). */
  writers?: number;
  /** Opens stored blobs off the main thread (ReadOptions.opener); inline when absent. */
  opener?: (e: IndexEntry, stored: Uint8Array) => Uint8Array | Promise<Uint8Array>;
}

interface Target {
  sink: FileSink;
  offset: number;
}

interface Wanted {
  entry: IndexEntry;
  targets: Target[];
}

class Batch {
  /** pack id → blob id → where it goes; insertion order follows the walk. */
  readonly packs = new Map<string, Map<string, Wanted>>();
  readonly sinks: FileSink[] = [];
  private readonly writers: Limiter;
  private readonly writing = new Set<Promise<void>>();
  private fatal: unknown = null;
  /** Writes a sink still expects after this batch (later segments of a big file). */
  private readonly leftAfter = new Map<FileSink, number>();

  constructor(private readonly o: BatchOptions) {
    this.writers = new Limiter(o.writers ?? 16);
  }

  private fail(sink: FileSink, error: unknown): void {
    if (sink.failed) return;
    this.o.events.failed(sink.job, error);
    sink.abandon();
  }

  /** A file (or segment) that cannot be planned: reported once, its temporary file removed. */
  private refuse(job: FileJob, error: unknown): void {
    const seg = job.segment;
    if (seg) seg.state.done = true;
    if (seg?.state.sink) this.fail(seg.state.sink, error);
    else this.o.events.failed(job, error);
  }

  /** Looks up the file's (or segment's) blobs and records where each goes. */
  async add(job: FileJob, handles: HandleBudget): Promise<void> {
    const seg = job.segment;
    const all = job.node.content ?? [];
    const ids = seg ? all.slice(seg.first, seg.first + seg.count) : all;
    const entries: IndexEntry[] = [];
    for (const id of ids) {
      const e = await this.o.repo.locate("data", id, this.o.signal);
      if (!e) return this.refuse(job, new NotFoundError(`data blob ${id} not found in the index`));
      entries.push(e);
    }
    const base = seg?.state.offset ?? 0;
    const total = entries.reduce((n, e) => n + e.rawLength, base);
    const last = !seg || seg.first + seg.count >= all.length;
    if (last ? total !== job.node.size : total > job.node.size) {
      return this.refuse(
        job,
        new IntegrityError(`content is ${total}+ bytes, the tree says ${job.node.size}`),
      );
    }
    const sink = seg?.state.sink ?? new FileSink(job, all.length, handles);
    if (seg) {
      seg.state.sink = sink;
      seg.state.offset = total;
    }
    this.sinks.push(sink);
    this.leftAfter.set(sink, sink.remaining - entries.length);
    let offset = base;
    for (const e of entries) {
      this.target(e).targets.push({ sink, offset });
      offset += e.rawLength;
    }
  }

  private target(e: IndexEntry): Wanted {
    let blobs = this.packs.get(e.pack);
    if (!blobs) {
      blobs = new Map();
      this.packs.set(e.pack, blobs);
    }
    let w = blobs.get(e.id);
    if (!w) {
      w = { entry: e, targets: [] };
      blobs.set(e.id, w);
    }
    return w;
  }

  /** True when the sink still lacks writes this batch should have made. */
  short(sink: FileSink): boolean {
    return !sink.failed && sink.remaining > (this.leftAfter.get(sink) ?? 0);
  }

  async complete(sink: FileSink): Promise<void> {
    try {
      await sink.finish(this.o.repo, this.o.verify, this.o.signal);
      this.o.events.restored(sink.job);
    } catch (e) {
      if (this.o.signal.aborted) throw e;
      this.fail(sink, e);
    }
  }

  /** Writes of one blob to one file position, run in the write pool. */
  private async writeOne(t: Target, plain: Uint8Array): Promise<void> {
    let last: boolean;
    const n = plain.length;
    try {
      const written = t.sink.write(plain, t.offset);
      last = written instanceof Promise ? await written : written;
    } catch (err) {
      if (this.o.signal.aborted) throw err;
      return this.fail(t.sink, err);
    }
    this.o.events.bytes(n);
    if (last) await this.complete(t.sink);
  }

  /**
   * Hands a blob's writes to the write pool, waiting for a free slot, and for the writes of a big
   * blob (made from the I/O threads while `plain` stays ours: the pack reader frees or reuses it
   * once this settles). Small files cost a handful of syscalls each, so writes must overlap each
   * other and the reads.
   */
  async deliver(e: IndexEntry, plain: Uint8Array): Promise<void> {
    const mine: Promise<void>[] = [];
    for (const t of this.packs.get(e.pack)?.get(e.id)?.targets ?? []) {
      if (this.fatal) throw this.fatal;
      if (t.sink.failed) continue;
      if (!t.sink.announced) {
        t.sink.announced = true;
        this.o.events.started(t.sink.job);
      }
      const release = await this.writers.acquire();
      const task = this.writeOne(t, plain)
        .catch((err: unknown) => {
          this.fatal ??= err;
        })
        .finally(release);
      this.writing.add(task);
      void task.then(() => this.writing.delete(task));
      if (plain.length >= ASYNC_WRITE_MIN) mine.push(task);
    }
    await Promise.all(mine);
  }

  /** Waits for every write handed out; rethrows a cancellation met by one of them. */
  async drain(): Promise<void> {
    while (this.writing.size > 0) await Promise.all([...this.writing]);
    if (this.fatal) throw this.fatal;
  }

  async undeliverable(e: IndexEntry, error: unknown): Promise<void> {
    for (const t of this.packs.get(e.pack)?.get(e.id)?.targets ?? []) this.fail(t.sink, error);
  }

  ranges(): PackRange[] {
    const opts = this.o.coalesce ?? DEFAULT_COALESCE;
    return [...this.packs].flatMap(([pack, blobs]) =>
      coalesce(
        pack,
        [...blobs.values()].map((w) => w.entry),
        opts,
      ),
    );
  }
}

/**
 * Restores `jobs`. Per-file problems go to events.failed; rejects only on cancellation (temporary
 * files of unfinished files are removed) or an unexpected internal error.
 */
export async function restoreBatch(jobs: FileJob[], o: BatchOptions): Promise<void> {
  const batch = new Batch(o);
  const handles = o.handles ?? new HandleBudget(64);
  const todo = await mapLimit(jobs, 16, async (job) => {
    throwIfAborted(o.signal);
    const seg = job.segment;
    if (seg?.state.done || seg?.state.sink?.failed) return null;
    if (seg && seg.first > 0) return job; // checked with the first segment
    try {
      if (await alreadyThere(o.repo, job, o.verify, o.signal, o.overwrite)) {
        if (seg) seg.state.done = true;
        o.events.skipped(job);
        return null;
      }
    } catch (e) {
      if (o.signal.aborted) throw e;
      o.events.failed(job, e);
      return null;
    }
    return job;
  });
  for (const job of todo) if (job) await batch.add(job, handles);
  let ok = false;
  try {
    for (const sink of batch.sinks) {
      if (sink.remaining === 0 && !sink.failed) {
        sink.announced = true;
        o.events.started(sink.job);
        await batch.complete(sink);
      }
    }
    let stopped: unknown = null;
    await readRanges(
      o.repo,
      batch.ranges(),
      { blob: (e, p) => batch.deliver(e, p), failed: (e, err) => batch.undeliverable(e, err) },
      {
        concurrency: o.readers ?? 6,
        signal: o.signal,
        opener: o.opener,
      },
    ).catch((e: unknown) => {
      stopped = e;
    });
    // Writes handed out must end before their files are judged (or cleaned up).
    await batch.drain().catch((e: unknown) => {
      stopped ??= e;
    });
    if (stopped) throw stopped;
    for (const s of batch.sinks) {
      if (batch.short(s)) o.events.failed(s.job, new Error("internal: blobs left unwritten"));
    }
    ok = true;
  } finally {
    // Anything unfinished (cancellation, a crash of the plan) leaves no temporary file behind;
    // a big file between segments only gives back its handle.
    for (const s of batch.sinks) {
      if (s.remaining === 0 || s.failed) continue;
      if (!ok || batch.short(s)) s.abandon();
      else s.release();
    }
  }
}
