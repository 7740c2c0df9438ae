/**
 * Streaming content-defined chunker (FastCDC with normalized chunking, level 2). Feed it a file as a
 * sequence of buffers; it returns finished chunks as they are cut. Memory is bounded by its buffer
 * (twice the maximum chunk size), whatever the file size. Chunks are fresh copies, safe to keep.
 */
import type { ChunkerParams } from "../types.ts";
import { gearScan, gearTable, topMask } from "./gear.ts";

const tables = new Map<string, Int32Array>();

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

  constructor(params: ChunkerParams) {
    this.gear = tableFor(params.seed);
    this.min = params.min;
    this.avg = params.avg;
    this.max = params.max;
    const bits = Math.round(Math.log2(params.avg));
    this.maskS = topMask(bits + 2);
    this.maskL = topMask(bits - 2);
    // Starts small and grows (up to twice the maximum chunk) so small files stay cheap.
    this.capacity = Math.max(2 * params.max, 64 * 1024);
    this.buf = new Uint8Array(Math.min(this.capacity, 256 * 1024));
    this.scanned = params.min;
  }

  /** Adds data; returns the chunks completed by it (possibly none). */
  push(data: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let off = 0;
    while (off < data.length) {
      this.makeRoom();
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
    const out: Uint8Array[] = [];
    this.cutAll(out, true);
    if (this.end > this.start) out.push(this.buf.slice(this.start, this.end));
    this.start = 0;
    this.end = 0;
    this.reset();
    return out;
  }

  private reset(): void {
    this.scanned = this.min;
    this.state[0] = 0;
  }

  /** Moves the unfinished chunk to the front once the buffer's tail is full, growing if needed. */
  private makeRoom(): void {
    if (this.end < this.buf.length) return;
    if (this.start > 0) {
      this.buf.copyWithin(0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
    if (this.end === this.buf.length) {
      const bigger = new Uint8Array(Math.min(this.capacity, this.buf.length * 2));
      bigger.set(this.buf.subarray(0, this.end));
      this.buf = bigger;
    }
  }

  private cutAll(out: Uint8Array[], final: boolean): void {
    for (;;) {
      const cut = this.findCut(final);
      if (cut < 0) return;
      out.push(this.buf.slice(this.start, cut));
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
