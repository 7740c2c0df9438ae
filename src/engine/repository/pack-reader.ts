/**
 * Batched blob reads for restore-like work: the blobs wanted from each pack are sorted by offset
 * and merged into ranges (neighbours closer than `maxGap` share one read; a range stops growing at
 * `maxRange` bytes), ranges are read with bounded concurrency and bounded bytes in flight, and each
 * blob is opened (authenticated, decompressed, its id checked) before the caller sees it. One GET
 * per pack region instead of one per blob is what makes restores from S3 fast.
 */
import { CancelledError, throwIfAborted } from "../../util/errors.ts";
import type { BlobId, BlobType } from "../types.ts";
import type { IndexEntry } from "./blob-index.ts";

/** What the reader needs from a repository (RepositoryImpl implements it). */
export interface PackSource {
  /** Where a blob is stored (flushing first if it is only queued here), or undefined. */
  locate(type: BlobType, id: BlobId, signal?: AbortSignal): Promise<IndexEntry | undefined>;
  /** Stored bytes [offset, offset+length) of pack `pack`, unchecked. Storage errors as Backend.get. */
  readPackRange(pack: string, offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array>;
  /** Opens one stored blob of an index entry. IntegrityError naming blob and pack when damaged. */
  openStoredBlob(e: IndexEntry, stored: Uint8Array): Uint8Array;
}

export function isPackSource(x: object): x is PackSource {
  const s = x as Partial<PackSource>;
  return (
    typeof s.locate === "function" &&
    typeof s.readPackRange === "function" &&
    typeof s.openStoredBlob === "function"
  );
}

/** One read: a byte range of a pack and the wanted blobs inside it, by offset. */
export interface PackRange {
  pack: string;
  offset: number;
  length: number;
  blobs: IndexEntry[];
}

export interface CoalesceOptions {
  /** Largest unwanted gap read through rather than split (bytes). */
  maxGap: number;
  /** A range stops growing past this many bytes (a single bigger blob is still one range). */
  maxRange: number;
}

export const DEFAULT_COALESCE: CoalesceOptions = { maxGap: 512 * 1024, maxRange: 8 * 1024 * 1024 };

/** Merges the wanted blobs of one pack into ranges. Blobs must be distinct. */
export function coalesce(pack: string, blobs: IndexEntry[], opts: CoalesceOptions = DEFAULT_COALESCE) {
  const sorted = [...blobs].sort((a, b) => a.offset - b.offset);
  const out: PackRange[] = [];
  let cur: PackRange | undefined;
  for (const b of sorted) {
    const end = b.offset + b.length;
    const gap = cur ? b.offset - (cur.offset + cur.length) : -1;
    if (cur && gap >= 0 && gap <= opts.maxGap && end - cur.offset <= opts.maxRange) {
      cur.length = end - cur.offset;
      cur.blobs.push(b);
    } else {
      cur = { pack, offset: b.offset, length: b.length, blobs: [b] };
      out.push(cur);
    }
  }
  return out;
}

export interface ReadOptions {
  /** Ranges read at once. */
  concurrency: number;
  /** Bytes of ranges held at once (a larger single range still proceeds alone). */
  maxBytesInFlight: number;
  signal: AbortSignal;
}

export interface BlobHandlers {
  /** A blob, opened and checked. Awaited before the range's next blob (back-pressure). */
  blob(e: IndexEntry, plain: Uint8Array): Promise<void>;
  /** A blob that could not be read or failed its checks (the read continues). */
  failed(e: IndexEntry, error: unknown): Promise<void>;
}

/** Admits holders while their byte total stays under a budget; FIFO. */
class ByteBudget {
  private used = 0;
  private readonly waiters: Array<{ n: number; go: () => void }> = [];
  constructor(private readonly max: number) {}

  async take(n: number): Promise<void> {
    if (this.waiters.length === 0 && (this.used === 0 || this.used + n <= this.max)) {
      this.used += n;
      return;
    }
    await new Promise<void>((go) => this.waiters.push({ n, go }));
  }

  give(n: number): void {
    this.used -= n;
    while (this.waiters.length > 0) {
      const w = this.waiters[0]!;
      if (this.used !== 0 && this.used + w.n > this.max) break;
      this.waiters.shift();
      this.used += w.n;
      w.go();
    }
  }
}

function isCancel(e: unknown, signal: AbortSignal): boolean {
  return e instanceof CancelledError || signal.aborted;
}

async function readOne(source: PackSource, r: PackRange, h: BlobHandlers, signal: AbortSignal) {
  let bytes: Uint8Array;
  try {
    bytes = await source.readPackRange(r.pack, r.offset, r.length, signal);
  } catch (e) {
    if (isCancel(e, signal)) throw e;
    for (const b of r.blobs) await h.failed(b, e);
    return;
  }
  for (const b of r.blobs) {
    throwIfAborted(signal);
    const at = b.offset - r.offset;
    let plain: Uint8Array;
    try {
      // A short read (a truncated pack) fails the length check inside openStoredBlob.
      plain = source.openStoredBlob(b, bytes.subarray(Math.min(at, bytes.length), at + b.length));
    } catch (e) {
      await h.failed(b, e);
      continue;
    }
    await h.blob(b, plain);
  }
}

/**
 * Reads every range, calling the handlers per blob. Rejects with CancelledError when the signal
 * fires, or with whatever a handler throws; storage and integrity errors go to `failed`.
 */
export async function readRanges(
  source: PackSource,
  ranges: readonly PackRange[],
  handlers: BlobHandlers,
  opts: ReadOptions,
): Promise<void> {
  const budget = new ByteBudget(opts.maxBytesInFlight);
  let next = 0;
  let stop = false;
  const lane = async () => {
    while (!stop && next < ranges.length) {
      const r = ranges[next++]!;
      await budget.take(r.length);
      try {
        throwIfAborted(opts.signal);
        await readOne(source, r, handlers, opts.signal);
      } catch (e) {
        stop = true;
        throw e;
      } finally {
        budget.give(r.length);
      }
    }
  };
  const lanes = Array.from({ length: Math.max(1, Math.min(opts.concurrency, ranges.length)) }, lane);
  const results = await Promise.allSettled(lanes);
  const bad = results.find((x): x is PromiseRejectedResult => x.status === "rejected");
  if (bad) throw bad.reason;
}
