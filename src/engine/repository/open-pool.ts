/**
 * Opens stored blobs (authenticate and decrypt, decompress, check the id) on worker threads, so a
 * restore's main thread keeps to reading and writing. Bigger blobs only: a small one opens inline
 * faster than a message goes to a worker and back. Each blob is copied once into a buffer that moves
 * to the worker (the reader's chunk is reused) and comes back with the plaintext, for a later blob.
 * If a worker dies, the pool opens inline from then on (the restore goes on, slower).
 */
import { availableParallelism } from "node:os";
import { CancelledError, IntegrityError } from "../../util/errors.ts";
import { releaseBuffer } from "../../util/release.ts";
import type { MasterKeys } from "../crypto/keys.ts";
import type { IndexEntry, PackInfo } from "./blob-index.ts";
import type { OpenReply, OpenRequest } from "./open-core.ts";
import type { PackSource } from "./pack-reader.ts";
import { repositoryWorkerUrl } from "./worker-url.ts";

/** What the pool needs from a repository (RepositoryImpl has it all): small blobs open inline. */
export interface OpenSource extends Pick<PackSource, "openStoredBlob"> {
  readonly masterKeys: MasterKeys;
  packInfo(id: string): PackInfo | undefined;
}

export function isOpenSource(x: object): x is OpenSource {
  const s = x as Partial<OpenSource>;
  return (
    typeof s.packInfo === "function" &&
    typeof s.openStoredBlob === "function" &&
    typeof s.masterKeys === "object" &&
    s.masterKeys !== null
  );
}

/** Stored blobs below this open inline (a round trip to a worker costs about as much). */
export const OFFLOAD_MIN_BYTES = 32 * 1024;

/**
 * Workers for a restore: none below 4 cores, else the cores beyond two, at most 3. Measured on 2
 * shared cores (medium tree, bench/RESULTS.md session 7), a worker gained no wall time (the main
 * thread and the I/O threads already fill both cores) for ~0.5-1 more CPU-s (copies, messages)
 * and 25-50 MiB more peak RSS (a second heap).
 */
export function defaultOpenWorkers(cores: number = availableParallelism()): number {
  return cores < 4 ? 0 : Math.min(3, cores - 2);
}

/** Where open-worker.ts is (worker-url.ts). */
export function openWorkerUrl(base: string = import.meta.url): string {
  return repositoryWorkerUrl("open-worker.ts", base);
}

/** Spare buffers kept: about the blobs in flight at once (readers), each reused blob after blob. */
const MAX_SPARES = 8;
const SPARE_ROUND = 256 * 1024;

function freeBuffer(b: ArrayBuffer): void {
  releaseBuffer(new Uint8Array(b));
}

interface Pending {
  resolve(plain: Uint8Array): void;
  reject(e: Error): void;
  lane: Lane;
}

interface Lane {
  worker: Worker;
  inFlight: number;
}

/** Live workers of every pool in this process (tests check that none outlives its restore). */
let liveWorkers = 0;
export function openWorkersRunning(): number {
  return liveWorkers;
}

export class OpenPool {
  private readonly lanes: Lane[] = [];
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  /** Buffers the workers handed back, to carry the next blobs (see open-worker.ts). */
  private readonly spares: ArrayBuffer[] = [];
  private broken = false;
  private closed = false;

  constructor(
    private readonly source: OpenSource,
    workers: number = defaultOpenWorkers(),
  ) {
    for (let i = 0; i < workers; i++) this.lanes.push(this.start());
  }

  private start(): Lane {
    const worker = new Worker(openWorkerUrl());
    liveWorkers++;
    const lane: Lane = { worker, inFlight: 0 };
    worker.onmessage = (event: MessageEvent<OpenReply>) => this.settle(event.data);
    worker.onerror = (event) => this.lost(`open worker failed: ${event.message}`);
    const init: OpenRequest = { kind: "init", keys: this.source.masterKeys };
    worker.postMessage(init);
    return lane;
  }

  private settle(reply: OpenReply): void {
    const p = this.pending.get(reply.seq);
    if (!p) return;
    this.pending.delete(reply.seq);
    p.lane.inFlight--;
    if (reply.spare && !this.closed) this.keepSpare(reply.spare);
    if (reply.ok) p.resolve(reply.plain);
    else p.reject(new IntegrityError(reply.message));
  }

  /** A worker died: what it held is opened again inline by the callers (see open). */
  private lost(message: string): void {
    this.broken = true;
    for (const [seq, p] of this.pending) {
      this.pending.delete(seq);
      p.reject(new WorkerLost(message));
    }
    this.stop();
  }

  /**
   * The plaintext of `e` stored as `stored` (left untouched: a worker gets a copy it can own). A
   * small blob is opened here and now (no promise: a restore of many tiny files pays no extra
   * turn). IntegrityError as RepositoryImpl.openStoredBlob; CancelledError once closed.
   */
  open(e: IndexEntry, stored: Uint8Array): Uint8Array | Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new CancelledError("restore finished"));
    const pack = this.source.packInfo(e.pack);
    if (!pack || this.broken || this.lanes.length === 0 || stored.byteLength < OFFLOAD_MIN_BYTES) {
      return this.source.openStoredBlob(e, stored);
    }
    return this.offload(e, pack, stored);
  }

  private async offload(e: IndexEntry, pack: PackInfo, stored: Uint8Array): Promise<Uint8Array> {
    // A buffer of its own, to move to the worker (`stored` is a view of a reused read buffer).
    const buffer = this.takeSpare(stored.byteLength);
    new Uint8Array(buffer, 0, stored.byteLength).set(stored);
    try {
      return await this.post(e, pack, buffer, stored.byteLength);
    } catch (err) {
      if (!(err instanceof WorkerLost)) throw err;
      return this.source.openStoredBlob(e, stored);
    }
  }

  private takeSpare(n: number): ArrayBuffer {
    let best = -1;
    for (let i = 0; i < this.spares.length; i++) {
      const len = this.spares[i]!.byteLength;
      if (len >= n && (best < 0 || len < this.spares[best]!.byteLength)) best = i;
    }
    if (best >= 0) return this.spares.splice(best, 1)[0]!;
    // Rounded up, so a buffer fits most later blobs of about the same size.
    return new ArrayBuffer(Math.ceil(n / SPARE_ROUND) * SPARE_ROUND);
  }

  private keepSpare(buffer: ArrayBuffer): void {
    this.spares.push(buffer);
    if (this.spares.length <= MAX_SPARES) return;
    // Drop the smallest: the bigger ones fit more blobs.
    let small = 0;
    for (let i = 1; i < this.spares.length; i++) {
      if (this.spares[i]!.byteLength < this.spares[small]!.byteLength) small = i;
    }
    freeBuffer(this.spares.splice(small, 1)[0]!);
  }

  private post(e: IndexEntry, pack: PackInfo, buffer: ArrayBuffer, length: number): Promise<Uint8Array> {
    const lane = this.lanes.reduce((a, b) => (b.inFlight < a.inFlight ? b : a));
    const seq = this.seq++;
    const entry = {
      type: e.type,
      id: e.id,
      offset: e.offset,
      length: e.length,
      rawLength: e.rawLength,
      compression: e.compression,
    };
    const req: OpenRequest = {
      kind: "open",
      seq,
      pack: pack.id,
      salt: pack.salt,
      entry,
      stored: buffer,
      length,
    };
    return new Promise<Uint8Array>((resolve, reject) => {
      this.pending.set(seq, { resolve, reject, lane });
      lane.inFlight++;
      lane.worker.postMessage(req, [buffer]);
    });
  }

  private stop(): void {
    for (const lane of this.lanes.splice(0)) {
      lane.worker.terminate();
      liveWorkers--;
    }
  }

  /** Stops the workers; opens still waiting reject with CancelledError. */
  close(): void {
    this.closed = true;
    for (const b of this.spares.splice(0)) freeBuffer(b);
    for (const [seq, p] of this.pending) {
      this.pending.delete(seq);
      p.reject(new CancelledError("restore finished"));
    }
    this.stop();
  }
}

class WorkerLost extends Error {}

/** A pool of `workers` (default: defaultOpenWorkers) for `repo`, or null: 0 workers, or a source without keys. */
export function createOpenPool(repo: object, workers: number = defaultOpenWorkers()): OpenPool | null {
  return workers > 0 && isOpenSource(repo) ? new OpenPool(repo, workers) : null;
}
