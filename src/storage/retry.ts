import { CancelledError, TransientStorageError, throwIfAborted } from "../util/errors.ts";
import type { Backend, GetOptions, ObjectInfo, PutOptions } from "./backend.ts";

export interface RetryEvent {
  /** "put", "get", "getStream", "stat", "list" or "delete". */
  operation: string;
  /** Object name, or the prefix for list. */
  name: string;
  /** The attempt that just failed, 1-based. */
  attempt: number;
  /** How long we wait before the next attempt. */
  delayMs: number;
  error: TransientStorageError;
}

export interface RetryOptions {
  /** Total attempts including the first (default 6). */
  attempts?: number;
  /** Backoff cap for the first retry; doubles per retry (default 200 ms). */
  baseDelayMs?: number;
  /** Upper bound of any single wait (default 20 s). */
  maxDelayMs?: number;
  /** Waits `ms`; must reject with CancelledError when `signal` fires. Injectable for tests. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Uniform in [0, 1); injectable for tests. */
  random?: () => number;
  /** Called before each wait, for logging. */
  onRetry?: (event: RetryEvent) => void;
}

/** Resolves after `ms`, or rejects with CancelledError as soon as `signal` fires. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new CancelledError("cancelled", { cause: signal.reason }));
    const onAbort = () => {
      clearTimeout(timer);
      reject(new CancelledError("cancelled", { cause: signal?.reason }));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Decorates a backend so TransientStorageError is retried with exponential backoff and full
 * jitter (wait = random × min(maxDelay, base × 2^(retry−1))). Every other error — permanent,
 * NotFound, Validation, Cancelled, bugs — passes through at once. After the last attempt the
 * transient error itself is thrown, with the attempt count in its message.
 *
 * What is retried:
 * - put of bytes, get, stat, delete: the whole call (a retried put reports onProgress from 0 again).
 * - put of a ReadableStream: NOT retried — a stream can be read once. Its transient error
 *   propagates; the caller, who can reopen the source, decides. (Packs are put as bytes.)
 * - getStream: opening is retried; a transient error mid-stream resumes from the byte reached
 *   with a ranged read, so a long restore survives a dropped connection.
 * - list: restarted from the beginning, skipping names already yielded (memory grows with the
 *   number of names yielded before a failure). Attempts count since the last new name.
 */
export function withRetry(backend: Backend, options: RetryOptions = {}): Backend {
  return new RetryingBackend(backend, options);
}

class RetryingBackend implements Backend {
  readonly location: string;
  private readonly attempts: number;
  private readonly base: number;
  private readonly max: number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly random: () => number;
  private readonly onRetry?: (event: RetryEvent) => void;

  constructor(
    private readonly inner: Backend,
    options: RetryOptions,
  ) {
    this.location = inner.location;
    this.attempts = Math.max(1, options.attempts ?? 6);
    this.base = options.baseDelayMs ?? 200;
    this.max = options.maxDelayMs ?? 20_000;
    this.sleep = options.sleep ?? abortableSleep;
    this.random = options.random ?? Math.random;
    this.onRetry = options.onRetry;
  }

  /**
   * After failure number `attempt` of an operation: waits and returns if another attempt is
   * allowed, throws the error (or anything that is not transient) otherwise.
   */
  private async backoff(
    operation: string,
    name: string,
    attempt: number,
    err: unknown,
    signal?: AbortSignal,
  ) {
    if (!(err instanceof TransientStorageError)) throw err;
    if (attempt >= this.attempts) {
      throw new TransientStorageError(`${err.message} (gave up after ${attempt} attempts)`, { cause: err });
    }
    const cap = Math.min(this.max, this.base * 2 ** (attempt - 1));
    const delayMs = Math.floor(this.random() * cap);
    this.onRetry?.({ operation, name, attempt, delayMs, error: err });
    await this.sleep(delayMs, signal);
    throwIfAborted(signal);
  }

  private async run<T>(
    operation: string,
    name: string,
    signal: AbortSignal | undefined,
    call: () => Promise<T>,
  ) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (err) {
        await this.backoff(operation, name, attempt, err, signal);
      }
    }
  }

  put(name: string, data: Uint8Array | ReadableStream<Uint8Array>, options?: PutOptions): Promise<void> {
    if (!(data instanceof Uint8Array)) return this.inner.put(name, data, options);
    return this.run("put", name, options?.signal, () => this.inner.put(name, data, options));
  }

  get(name: string, options?: GetOptions): Promise<Uint8Array> {
    return this.run("get", name, options?.signal, () => this.inner.get(name, options));
  }

  stat(name: string, options?: { signal?: AbortSignal }): Promise<ObjectInfo> {
    return this.run("stat", name, options?.signal, () => this.inner.stat(name, options));
  }

  delete(name: string, options?: { signal?: AbortSignal }): Promise<void> {
    return this.run("delete", name, options?.signal, () => this.inner.delete(name, options));
  }

  async getStream(name: string, options?: GetOptions): Promise<ReadableStream<Uint8Array>> {
    const start = options?.offset ?? 0;
    const open = (consumed: number) => {
      const length = options?.length === undefined ? undefined : options.length - consumed;
      return this.run("getStream", name, options?.signal, () =>
        this.inner.getStream(name, { ...options, offset: start + consumed, length }),
      );
    };
    return resumingStream(await open(0), open, (attempt, err) =>
      this.backoff("getStream", name, attempt, err, options?.signal),
    );
  }

  async *list(prefix: string, options?: { signal?: AbortSignal }): AsyncIterable<ObjectInfo> {
    const seen = new Set<string>();
    // Failures count since the last new name, so a long listing with rare hiccups completes.
    let failures = 0;
    for (;;) {
      try {
        for await (const info of this.inner.list(prefix, options)) {
          if (seen.has(info.name)) continue;
          seen.add(info.name);
          failures = 0;
          yield info;
        }
        return;
      } catch (err) {
        failures += 1;
        await this.backoff("list", prefix, failures, err, options?.signal);
      }
    }
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/**
 * Passes `first` through; when it fails with a transient error, reopens at the byte reached.
 * Failures are counted since the last byte received, so steady progress never exhausts them.
 */
function resumingStream(
  first: ReadableStream<Uint8Array>,
  reopen: (consumed: number) => Promise<ReadableStream<Uint8Array>>,
  backoff: (attempt: number, err: unknown) => Promise<void>,
): ReadableStream<Uint8Array> {
  let reader = first.getReader();
  let consumed = 0;
  let failures = 0;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        for (;;) {
          try {
            const { done, value } = await reader.read();
            if (done) return controller.close();
            consumed += value.byteLength;
            failures = 0;
            return controller.enqueue(value);
          } catch (err) {
            try {
              failures += 1;
              await backoff(failures, err);
              reader = (await reopen(consumed)).getReader();
            } catch (final) {
              return controller.error(final);
            }
          }
        }
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
}
