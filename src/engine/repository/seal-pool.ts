/**
 * Hands blobs to SealCores (worker threads, or one inline core) and applies back-pressure: a
 * submit waits while too many plaintext bytes are queued or too many finished packs await upload,
 * so memory stays at a few packs whatever the input size. Finished packs go to `onPack` (upload
 * and indexing) with at most `maxUploads` running at once.
 */
import { BackappError, CancelledError, throwIfAborted, wrapError } from "../../util/errors.ts";
import { sha256Hex } from "../crypto/aead.ts";
import type { BlobType } from "../types.ts";
import { BATCH_BELOW, BlobBatch } from "./seal-batch.ts";
import {
  type BatchReply,
  type CoreReply,
  type CoreRequest,
  type FinishedPack,
  SealCore,
} from "./seal-core.ts";
import { StagingBuffers } from "./staging.ts";
import { repositoryWorkerUrl } from "./worker-url.ts";

export interface SealPoolOptions {
  encKey: Uint8Array | null;
  /** When set, every blob's id is checked against HMAC(macKey, plaintext). */
  macKey: Uint8Array | null;
  packSize: number;
  /** Worker threads; 0 seals inline on the calling thread. */
  workers: number;
  /** Plaintext bytes queued to cores before submit waits. */
  maxQueuedBytes: number;
  /** Finished packs uploading or waiting to upload before submit waits. */
  maxPendingPacks: number;
  maxUploads: number;
  onPack: (pack: FinishedPack) => Promise<void>;
}

interface Lane {
  /** Posts a request; buffers in `transfer` move to the core (detached here). */
  send(req: CoreRequest, transfer?: ArrayBuffer[]): void;
  queued: number;
  close(): void;
  /** Small blobs gathered for this lane's next batch message (seal-batch.ts). */
  batch: BlobBatch;
}

/** Where seal-worker.ts is (worker-url.ts). */
export function sealWorkerUrl(base: string = import.meta.url): string {
  return repositoryWorkerUrl("seal-worker.ts", base);
}

type Waiter = { resolve: (v: number) => void; reject: (e: Error) => void; bytes: number; lane: Lane };

export class SealPool {
  private readonly lanes: Lane[] = [];
  private readonly waiting = new Map<number, Waiter>();
  private readonly flushWaits = new Map<number, () => void>();
  private readonly wakeups: (() => void)[] = [];
  private readonly uploadQueue: { pack: FinishedPack; lane: Lane }[] = [];
  private readonly uploadDone = new Set<() => void>();
  private uploading = 0;
  /** Uploads started and not yet settled: close() waits for them (they clean up after themselves). */
  private readonly inFlight = new Set<Promise<void>>();
  private packBytes = 0;
  private seq = 0;
  private failure: Error | null = null;
  private readonly staging: StagingBuffers;

  constructor(private readonly opts: SealPoolOptions) {
    this.staging = new StagingBuffers(opts.maxQueuedBytes);
    const count = Math.max(opts.workers, 0);
    if (count === 0) this.lanes.push(this.inlineLane());
    for (let i = 0; i < count; i++) this.lanes.push(this.workerLane());
    for (const lane of this.lanes)
      lane.send({
        kind: "init",
        encKey: opts.encKey,
        macKey: opts.macKey,
        packSize: opts.packSize,
        hashPacks: false,
      });
  }

  private inlineLane(): Lane {
    const lane: Lane = {
      queued: 0,
      send: (req) => core.handle(req),
      close: () => {},
      batch: new BlobBatch(),
    };
    const core = new SealCore((reply) => this.onReply(lane, reply));
    return lane;
  }

  private workerLane(): Lane {
    const worker = new Worker(sealWorkerUrl());
    const lane: Lane = {
      queued: 0,
      send: (req, transfer) => worker.postMessage(req, transfer ?? []),
      close: () => worker.terminate(),
      batch: new BlobBatch(),
    };
    worker.onmessage = (event: MessageEvent<CoreReply>) => this.onReply(lane, event.data);
    worker.onerror = (event) => this.fail(new BackappError(`seal worker failed: ${event.message}`));
    return lane;
  }

  /**
   * Compresses, encrypts and packs a blob; resolves with its stored size once it is in a pack.
   * `plaintext` is copied before this returns its promise: the caller may reuse its buffer at once.
   */
  submit(type: BlobType, id: string, plaintext: Uint8Array, level: number, signal?: AbortSignal) {
    return this.submitCopy(type, id, this.staging.copy(plaintext), level, signal);
  }

  private async submitCopy(
    type: BlobType,
    id: string,
    copy: Uint8Array,
    level: number,
    signal?: AbortSignal,
  ) {
    const bytes = copy.byteLength;
    try {
      await this.waitForRoom(bytes, signal);
    } catch (e) {
      this.staging.give(copy.buffer as ArrayBuffer);
      throw e;
    }
    // The pool may have failed since the wait ended: fail() has settled every waiting blob
    // already, and a batch is no longer sent, so this one must not wait for a reply.
    if (this.failure) {
      this.staging.give(copy.buffer as ArrayBuffer);
      throw this.failure;
    }
    const lane = this.lanes.reduce((a, b) => (b.queued < a.queued ? b : a));
    const seq = ++this.seq;
    lane.queued += bytes;
    return new Promise<number>((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject, bytes, lane });
      if (bytes < BATCH_BELOW) {
        this.batch(lane, seq, type, id, copy, level);
        return;
      }
      // Blobs reach a core in the order they were submitted (the batch first): packs come out alike.
      this.sendBatch(lane);
      lane.send({ kind: "blob", seq, type, id, plaintext: copy, level }, [copy.buffer as ArrayBuffer]);
    });
  }

  /**
   * A small blob joins its lane's batch, sent when full or on the next event-loop turn (one
   * message per blob cost more on the main thread than sealing it did in the worker).
   */
  private batch(lane: Lane, seq: number, type: BlobType, id: string, copy: Uint8Array, level: number) {
    const batch = lane.batch;
    if (batch.add(seq, type, id, copy, level)) this.sendBatch(lane);
    else if (batch.size === 1) setImmediate(() => this.sendBatch(lane));
  }

  private sendBatch(lane: Lane): void {
    const req = lane.batch.take();
    if (req && !this.failure) lane.send(req, [req.data.buffer as ArrayBuffer]);
  }

  /** Plaintext queued to cores plus finished packs not yet uploaded (open packs not counted). */
  bufferedBytes(): number {
    return this.queuedBytes() + this.packBytes;
  }

  private queuedBytes(): number {
    return this.lanes.reduce((sum, l) => sum + l.queued, 0);
  }

  private hasRoom(bytes: number): boolean {
    const queued = this.queuedBytes();
    const packs = this.uploading + this.uploadQueue.length;
    return (queued === 0 || queued + bytes <= this.opts.maxQueuedBytes) && packs < this.opts.maxPendingPacks;
  }

  private async waitForRoom(bytes: number, signal?: AbortSignal): Promise<void> {
    for (;;) {
      throwIfAborted(signal);
      if (this.failure) throw this.failure;
      if (this.hasRoom(bytes)) return;
      // The abort listener goes when the wait ends: one added per wait and never removed grew
      // without bound over a long backup (a listener and its closure per wait on one signal).
      await new Promise<void>((resolve) => {
        const done = () => {
          signal?.removeEventListener("abort", done);
          resolve();
        };
        this.wakeups.push(done);
        signal?.addEventListener("abort", done, { once: true });
      });
    }
  }

  private wake(): void {
    for (const w of this.wakeups.splice(0)) w();
  }

  private onReply(lane: Lane, reply: CoreReply): void {
    if (reply.kind === "pack") {
      this.packBytes += reply.pack.bytes.byteLength;
      this.uploadQueue.push({ pack: reply.pack, lane });
      this.pumpUploads();
    } else if (reply.kind === "addedMany") {
      this.onBatchReply(reply);
    } else if (reply.kind === "flushed") {
      this.flushWaits.get(reply.seq)?.();
      this.flushWaits.delete(reply.seq);
    } else {
      const w = this.waiting.get(reply.seq);
      if (!w) return;
      this.waiting.delete(reply.seq);
      lane.queued -= w.bytes;
      if (reply.buffer) this.staging.give(reply.buffer);
      if (reply.kind === "added") w.resolve(reply.storedBytes);
      else w.reject(new BackappError(`seal blob: ${reply.message}`));
      this.wake();
    }
  }

  private onBatchReply(reply: BatchReply): void {
    for (let i = 0; i < reply.seqs.length; i++) {
      const seq = reply.seqs[i]!;
      const w = this.waiting.get(seq);
      if (!w) continue;
      this.waiting.delete(seq);
      w.lane.queued -= w.bytes;
      const stored = reply.stored[i]!;
      if (stored >= 0) w.resolve(stored);
      else w.reject(new BackappError(`seal blob: ${reply.errors[i]}`));
    }
    this.wake();
  }

  private pumpUploads(): void {
    while (this.uploading < this.opts.maxUploads && this.uploadQueue.length > 0) {
      const { pack, lane } = this.uploadQueue.shift()!;
      // Named here: the main thread has CPU to spare while the seal workers are the busy ones.
      pack.id = sha256Hex(pack.bytes);
      const size = pack.bytes.byteLength;
      this.uploading++;
      const upload = this.opts
        .onPack(pack)
        .then(() => {
          // Stored: the core may refill the same buffer (no 16 MiB allocation per pack).
          const buffer = pack.bytes.buffer as ArrayBuffer;
          if (!this.failure) lane.send({ kind: "recycle", buffer }, [buffer]);
        })
        .catch((e: unknown) => this.fail(wrapError(`upload pack ${pack.id.slice(0, 12)}`, e)))
        .finally(() => {
          this.uploading--;
          this.packBytes -= size;
          this.pumpUploads();
          this.wake();
          if (this.idle()) for (const done of this.uploadDone) done();
        });
      this.inFlight.add(upload);
      void upload.finally(() => this.inFlight.delete(upload));
    }
  }

  private idle(): boolean {
    return this.uploading === 0 && this.uploadQueue.length === 0;
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const w of this.waiting.values()) w.reject(error);
    this.waiting.clear();
    for (const done of this.flushWaits.values()) done();
    for (const done of this.uploadDone) done();
    this.wake();
  }

  /** Finishes every open pack and waits until all finished packs are handled. */
  async flush(signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal);
    if (this.failure) throw this.failure;
    await Promise.all(
      this.lanes.map((lane) => {
        this.sendBatch(lane);
        const seq = ++this.seq;
        return new Promise<void>((resolve) => {
          this.flushWaits.set(seq, resolve);
          lane.send({ kind: "flush", seq });
        });
      }),
    );
    if (!this.idle() && !this.failure) {
      // Abortable: a cancelled run must not wait for a slow (or rate-limited) upload to finish;
      // closing the repository then aborts the upload itself.
      await new Promise<void>((resolve, reject) => {
        const done = () => {
          this.uploadDone.delete(done);
          signal?.removeEventListener("abort", cancel);
          resolve();
        };
        const cancel = () => {
          this.uploadDone.delete(done);
          reject(new CancelledError("cancelled", { cause: signal?.reason }));
        };
        this.uploadDone.add(done);
        signal?.addEventListener("abort", cancel, { once: true });
      });
    }
    if (this.failure) throw this.failure;
  }

  /**
   * Stops the cores and waits for uploads in flight to settle (the caller aborts them first): a
   * cancelled write removes its temporary object before the process may exit.
   */
  async close(): Promise<void> {
    for (const lane of this.lanes) lane.close();
    this.fail(new BackappError("repository closed"));
    await Promise.allSettled([...this.inFlight]);
  }
}
