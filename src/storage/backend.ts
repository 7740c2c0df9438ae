/**
 * The storage contract every backend (local folder, S3, in-memory test double) fulfils, and
 * every decorator (retry, rate limit, fault injection) preserves. The engine depends on this
 * interface only. Names are slash-separated keys relative to the repository root, e.g.
 * "config", "keys/ab12…", "data/3f/3f2a…". Backends never interpret names.
 *
 * Errors: a missing object is NotFoundError; failures retrying cannot fix are
 * PermanentStorageError (bad credentials, missing bucket, access denied); failures that may pass
 * on retry are TransientStorageError. Cancellation through `signal` throws CancelledError.
 */
export interface ObjectInfo {
  /** Key relative to the repository root. */
  name: string;
  /** Size in bytes. */
  size: number;
}

export interface PutOptions {
  signal?: AbortSignal;
  /** Called with the number of bytes sent so far, for progress and throttling accounting. */
  onProgress?: (bytesSent: number) => void;
}

export interface GetOptions {
  signal?: AbortSignal;
  /** Byte offset to start at (default 0). */
  offset?: number;
  /** Number of bytes to read (default: to the end). Reading past the end returns what exists. */
  length?: number;
  /**
   * getStream: the caller is done with each chunk once it asks for the next one (or cancels), so
   * the backend may read the next chunk into the same memory (one buffer per stream, not one
   * per chunk). Backends are free to ignore it.
   */
  reuseChunks?: boolean;
}

export interface Backend {
  /** Human-readable location for messages, never containing credentials. */
  readonly location: string;

  /**
   * Stores `data` under `name` atomically: readers see either nothing or the whole object, never
   * a partial one. Overwrites an existing object. `data` may be bytes or a stream of known or
   * unknown length; streams are never buffered whole (multipart upload for large S3 objects).
   */
  put(name: string, data: Uint8Array | ReadableStream<Uint8Array>, options?: PutOptions): Promise<void>;

  /** Reads the whole object, or the requested range. NotFoundError when missing. */
  get(name: string, options?: GetOptions): Promise<Uint8Array>;

  /** Streams the object (or range) without holding it in memory. NotFoundError when missing. */
  getStream(name: string, options?: GetOptions): Promise<ReadableStream<Uint8Array>>;

  /** Size of the object. NotFoundError when missing. */
  stat(name: string, options?: { signal?: AbortSignal }): Promise<ObjectInfo>;

  /**
   * Lists every object whose name starts with `prefix` (e.g. "snapshots/"), in no guaranteed
   * order, across all pages. An empty result is not an error.
   */
  list(prefix: string, options?: { signal?: AbortSignal }): AsyncIterable<ObjectInfo>;

  /** Deletes the object. Deleting a missing object succeeds (idempotent). */
  delete(name: string, options?: { signal?: AbortSignal }): Promise<void>;

  /** Releases connections and file handles. The backend is unusable afterwards. */
  close(): Promise<void>;
}
