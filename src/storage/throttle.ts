import { type Clock, systemClock } from "../util/clock.ts";
import { ValidationError } from "../util/errors.ts";
import type { Backend, GetOptions, ObjectInfo, PutOptions } from "./backend.ts";
import { abortableSleep } from "./retry.ts";

export interface TokenBucketOptions {
  /** Tokens (bytes) added per second. */
  ratePerSecond: number;
  /** Most tokens saved up while idle: the burst allowed (default one second's worth). */
  capacity?: number;
  clock?: Clock;
  /** Abortable wait; injectable so tests advance a manual clock instead of sleeping. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/**
 * A token bucket that lets takers run into debt: `take(n)` reserves n tokens at once and waits
 * until the balance is back to zero. Concurrent takers thus queue fairly and the long-run rate
 * never exceeds `ratePerSecond` (plus the initial burst of `capacity`).
 */
export class TokenBucket {
  readonly rate: number;
  readonly capacity: number;
  private tokens: number;
  private last: number;
  private readonly clock: Clock;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;

  constructor(options: TokenBucketOptions) {
    if (!(options.ratePerSecond > 0))
      throw new ValidationError(`rate must be positive, got ${options.ratePerSecond}`);
    this.rate = options.ratePerSecond;
    this.capacity = options.capacity ?? options.ratePerSecond;
    this.clock = options.clock ?? systemClock;
    this.sleep = options.sleep ?? abortableSleep;
    this.tokens = this.capacity;
    this.last = this.clock.now();
  }

  /** Tokens available now (negative while in debt). */
  available(): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) * this.rate) / 1000);
    this.last = now;
    return this.tokens;
  }

  /** Reserves `n` tokens and resolves once they are paid for. Rejects with CancelledError on abort. */
  async take(n: number, signal?: AbortSignal): Promise<void> {
    const balance = this.available() - n;
    this.tokens = balance;
    if (balance < 0) await this.sleep((-balance / this.rate) * 1000, signal);
  }
}

export interface RateLimitOptions {
  /** Upload bandwidth limit in bytes per second. */
  bytesPerSecond: number;
  /** Burst allowance in bytes (default one second's worth). */
  burstBytes?: number;
  clock?: Clock;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/**
 * Data is paid for in slices of about 1/20 s worth of bandwidth (1–64 KiB), so the flow stays
 * smooth: no single wait is long, and no slice so small that per-slice overhead matters.
 */
function sliceSize(bytesPerSecond: number): number {
  return Math.max(1024, Math.min(64 * 1024, Math.floor(bytesPerSecond / 20)));
}

/**
 * Limits upload bandwidth (put) of a backend to `bytesPerSecond`, shared by all concurrent puts:
 * `--limit-upload KBPS`. Data (bytes or stream) is handed to the inner backend as a stream that
 * releases at most one slice per token payment. Reads are not limited.
 */
export function withRateLimit(backend: Backend, options: RateLimitOptions): Backend {
  const bucket = new TokenBucket({
    ratePerSecond: options.bytesPerSecond,
    capacity: options.burstBytes,
    clock: options.clock,
    sleep: options.sleep,
  });
  const slice = sliceSize(options.bytesPerSecond);
  return {
    location: backend.location,
    put(name: string, data: Uint8Array | ReadableStream<Uint8Array>, putOptions?: PutOptions) {
      const source = data instanceof Uint8Array ? bytesStream(data) : data;
      return backend.put(name, throttled(source, bucket, slice, putOptions?.signal), putOptions);
    },
    get: (name: string, o?: GetOptions) => backend.get(name, o),
    getStream: (name: string, o?: GetOptions) => backend.getStream(name, o),
    stat: (name: string, o?: { signal?: AbortSignal }): Promise<ObjectInfo> => backend.stat(name, o),
    list: (prefix: string, o?: { signal?: AbortSignal }) => backend.list(prefix, o),
    delete: (name: string, o?: { signal?: AbortSignal }) => backend.delete(name, o),
    close: () => backend.close(),
  };
}

function bytesStream(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      if (bytes.byteLength > 0) controller.enqueue(bytes);
      controller.close();
    },
  });
}

/** Re-emits `source` in slices of at most `slice` bytes, each paid for in `bucket` first. */
function throttled(
  source: ReadableStream<Uint8Array>,
  bucket: TokenBucket,
  slice: number,
  signal?: AbortSignal,
): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  let pending: Uint8Array | undefined;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          while (!pending || pending.byteLength === 0) {
            const { done, value } = await reader.read();
            if (done) return controller.close();
            pending = value;
          }
          const piece = pending.subarray(0, slice);
          pending = pending.subarray(piece.byteLength);
          await bucket.take(piece.byteLength, signal);
          controller.enqueue(piece);
        } catch (err) {
          await reader.cancel(err).catch(() => {});
          controller.error(err);
        }
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
}
