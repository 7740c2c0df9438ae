/**
 * Reusable buffers for blobs on their way to a seal worker. A blob is copied once into a buffer
 * from here (power-of-two size classes from 64 KiB), the buffer is transferred (moved, not copied)
 * to the worker, and the worker transfers it back with its reply. A long backup thus circulates
 * the same few buffers instead of leaving a megabyte-sized garbage array per chunk in each thread,
 * which the JS heap is slow to give back. At most `maxPooledBytes` are kept idle.
 */
import { releaseBuffer } from "../../util/release.ts";

const MIN_CLASS = 64 * 1024;

function sizeClass(n: number): number {
  return n <= MIN_CLASS ? MIN_CLASS : 2 ** Math.ceil(Math.log2(n));
}

export class StagingBuffers {
  private readonly free = new Map<number, ArrayBuffer[]>();
  private pooled = 0;

  constructor(private readonly maxPooledBytes: number) {}

  /** A fresh copy of `data` whose buffer may be transferred (and later handed back). */
  copy(data: Uint8Array): Uint8Array {
    if (data.byteLength < MIN_CLASS) return data.slice();
    const cls = sizeClass(data.byteLength);
    const buf = this.free.get(cls)?.pop();
    if (buf) this.pooled -= cls;
    const out = new Uint8Array(buf ?? new ArrayBuffer(cls), 0, data.byteLength);
    out.set(data);
    return out;
  }

  /**
   * Takes a buffer back (one that copy() made, or any other: those are dropped). The caller gives
   * up the buffer: one not kept is freed at once (util/release.ts).
   */
  give(buf: ArrayBuffer): void {
    const cls = buf.byteLength;
    if (cls < MIN_CLASS || sizeClass(cls) !== cls || this.pooled + cls > this.maxPooledBytes) {
      releaseBuffer(new Uint8Array(buf));
      return;
    }
    let list = this.free.get(cls);
    if (!list) {
      list = [];
      this.free.set(cls, list);
    }
    list.push(buf);
    this.pooled += cls;
  }
}
