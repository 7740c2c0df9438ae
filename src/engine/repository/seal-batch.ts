/**
 * Gathers small blobs bound for one seal core into one message (seal-core.ts BatchRequest). On a
 * tree of tiny files a message per blob made postMessage the main thread's largest cost (~100 µs
 * each under load, more than the worker's compress-and-encrypt of a 1 KiB blob).
 */
import type { BlobType } from "../types.ts";
import type { BatchRequest } from "./seal-core.ts";

/** Blobs below this size are batched; larger ones go alone (their copy is the staging buffer). */
export const BATCH_BELOW = 64 * 1024;
/** A batch is sent once it holds this many blobs or bytes (or on the next event-loop turn). */
export const BATCH_BLOBS = 64;
export const BATCH_BYTES = 512 * 1024;

export class BlobBatch {
  private seqs: number[] = [];
  private types: BlobType[] = [];
  private ids: string[] = [];
  private ends: number[] = [];
  private levels: number[] = [];
  private data = new Uint8Array(BATCH_BYTES + BATCH_BELOW);
  private bytes = 0;

  get size(): number {
    return this.seqs.length;
  }

  /** Copies the blob in; true when the batch is full and should be sent. */
  add(seq: number, type: BlobType, id: string, plaintext: Uint8Array, level: number): boolean {
    this.data.set(plaintext, this.bytes);
    this.bytes += plaintext.byteLength;
    this.seqs.push(seq);
    this.types.push(type);
    this.ids.push(id);
    this.ends.push(this.bytes);
    this.levels.push(level);
    return this.seqs.length >= BATCH_BLOBS || this.bytes >= BATCH_BYTES;
  }

  /** The request for the blobs gathered so far (its buffer may be transferred), or null. */
  take(): BatchRequest | null {
    if (this.seqs.length === 0) return null;
    const req: BatchRequest = {
      kind: "blobs",
      seqs: this.seqs,
      types: this.types,
      ids: this.ids,
      ends: this.ends,
      levels: this.levels,
      data: this.data.slice(0, this.bytes),
    };
    this.seqs = [];
    this.types = [];
    this.ids = [];
    this.ends = [];
    this.levels = [];
    this.bytes = 0;
    return req;
  }
}
