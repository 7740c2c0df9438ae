/**
 * Streaming content-defined chunker (FastCDC with normalized chunking, level 2). Feed it a file as a
 * sequence of buffers; it returns finished chunks as they are cut. Memory is bounded by its buffer
 * (the maximum chunk size plus one read), whatever the file size. push()/finish() return fresh
 * copies, safe to keep; the zero-copy pair writable()/commit() (with finishViews()) lets a reader
 * read straight into the buffer and get chunks as views into it, so one Chunker reused across
 * files allocates nothing per file or per chunk.
 */
import { releaseBuffer } from "../../util/release.ts";
import type { ChunkerParams } from "../types.ts";
import { gearScan, gearTable, topMask } from "./gear.ts";

const tables = new Map<string, Int32Array>();

/** Room for one read beyond the largest chunk. */
const READ_ROOM = 1024 * 1024;

function tableFor(seed: string): Int32Array {
  let t = tables.get(seed);
  if (!t) {
    t = gearTable(seed);
    tables.set(seed, t);
  }
  return t;
}

export class Chunker {
  private readonly gear: Int32Array;
  private readonly min: number;
  private readonly avg: number;
  private readonly max: number;
  private readonly maskS: number;
  private readonly maskL: number;
  private buf: Uint8Array;
  private readonly capacity: number;
  /** Start of the current (unfinished) chunk in buf. */
  private start = 0;
  /** End of valid data in buf. */
  private end = 0;
  /** Where scanning resumes, relative to start (never below min). */
  private scanned: number;
  private readonly state = new Int32Array(1);

  /** `full`: start at the full buffer (a big file's chunker) instead of growing to it by doubling. */
  constructor(params: ChunkerParams, full = false) {
    this.gear = tableFor(params.seed);
    this.min = params.min;
    this.avg = params.avg;
    this.max = params.max;
    const bits = Math.round(Math.log2(params.avg));
    this.maskS = topMask(bits + 2);
    this.maskL = topMask(bits - 2);
    // Starts small and grows (up to the maximum chunk plus one read) so small files stay cheap.
    this.capacity = Math.max(params.max + READ_ROOM, 64 * 1024);
    // Each doubling left the smaller buffer behind as garbage (~8 MiB of it per big chunker).
    this.buf = new Uint8Array(full ? this.capacity : Math.min(this.capacity, 64 * 1024));
    this.scanned = params.min;
  }

  /** Adds data; returns the chunks completed by it (possibly none). */
  push(data: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let off = 0;
    while (off < data.length) {
      this.makeRoom(1);
      const n = Math.min(data.length - off, this.buf.length - this.end);
      this.buf.set(data.subarray(off, off + n), this.end);
      this.end += n;
      off += n;
      this.cutAll(out, false);
    }
    return out;
  }

  /** Ends the stream: returns the last chunks (the remainder, possibly shorter than min). */
  finish(): Uint8Array[] {
    return this.finishViews().map((v) => v.slice());
  }

  /**
   * Free space to read up to `want` bytes into (at least one byte, at most `want`). Valid until
   * the next call; follow with commit(bytes written). Invalidates views returned earlier.
   */
  writable(want: number): Uint8Array {
    this.makeRoom(Math.max(1, want));
    return this.buf.subarray(this.end, Math.min(this.buf.length, this.end + Math.max(1, want)));
  }

  /**
   * Takes the `n` bytes just written into writable(); returns the chunks they complete as views
   * into the buffer, valid until the next writable() or push() (copy what must outlive that).
   */
  commit(n: number): Uint8Array[] {
    if (n < 0 || this.end + n > this.buf.length) throw new RangeError("commit beyond writable space");
    this.end += n;
    const out: Uint8Array[] = [];
    this.cutAll(out, false, false);
    return out;
  }

  /** finish() as views (valid until the next writable()/push()); the chunker is then reusable. */
  finishViews(): Uint8Array[] {
    const out: Uint8Array[] = [];
    this.cutAll(out, true, false);
    if (this.end > this.start) out.push(this.buf.subarray(this.start, this.end));
    this.clear();
    return out;
  }

  /** Bytes taken but not yet cut into a chunk (the unfinished chunk). */
  get buffered(): number {
    return this.end - this.start;
  }

  /**
   * Frees the buffer now (util/release.ts) rather than at a collection; the chunker must not be
   * used again. Views it gave become empty, so call it only where a reuse by the next file would
   * be allowed too: once every view is copied or done with.
   */
  dispose(): void {
    releaseBuffer(this.buf);
    this.buf = new Uint8Array(0);
  }

  /** Drops any buffered data (keeping the buffer) so the chunker can start a new stream. */
  clear(): void {
    this.start = 0;
    this.end = 0;
    this.reset();
  }

  private reset(): void {
    this.scanned = this.min;
    this.state[0] = 0;
  }

  /**
   * Makes `want` bytes free after end (fewer only at full capacity): moves the unfinished chunk to
   * the front, then grows. The unfinished chunk is always shorter than max, so at capacity there is
   * room for a whole read.
   */
  private makeRoom(want: number): void {
    if (this.buf.length - this.end >= want) return;
    if (this.start > 0) {
      this.buf.copyWithin(0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
    if (this.buf.length - this.end < want && this.buf.length < this.capacity) {
      const size = Math.min(this.capacity, Math.max(this.buf.length * 2, this.end + want));
      const bigger = new Uint8Array(size);
      bigger.set(this.buf.subarray(0, this.end));
      this.buf = bigger;
    }
  }

  private cutAll(out: Uint8Array[], final: boolean, copy = true): void {
    for (;;) {
      const cut = this.findCut(final);
      if (cut < 0) return;
      out.push(copy ? this.buf.slice(this.start, cut) : this.buf.subarray(this.start, cut));
      this.start = cut;
      this.reset();
    }
  }

  /** Absolute cut position in buf, or -1 when more data is needed. */
  private findCut(final: boolean): number {
    const avail = this.end - this.start;
    if (avail <= this.min) return final || avail < this.max ? -1 : this.start + avail;
    const limit = Math.min(avail, this.max);
    const cut = gearScan(
      this.buf,
      this.gear,
      this.start + this.scanned,
      this.start + limit,
      this.start + this.avg,
      this.maskS,
      this.maskL,
      this.state,
    );
    if (cut >= 0) return cut;
    this.scanned = limit;
    if (limit === this.max) return this.start + this.max;
    return -1;
  }
}

/** Splits one in-memory buffer into chunks (convenience for tests and small inputs). */
export function chunkBuffer(params: ChunkerParams, data: Uint8Array): Uint8Array[] {
  const c = new Chunker(params);
  return [...c.push(data), ...c.finish()];
}
