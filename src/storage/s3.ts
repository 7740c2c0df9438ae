import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  S3Client,
  type StorageClass,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import {
  NotFoundError,
  PermanentStorageError,
  TransientStorageError,
  throwIfAborted,
  ValidationError,
} from "../util/errors.ts";
import type { Backend, GetOptions, ObjectInfo, PutOptions } from "./backend.ts";
import { validateName, validatePrefix, validateRange } from "./names.ts";
import { clientConfig, locationOf, trimPrefix } from "./s3-config.ts";
import { addContentMd5 } from "./s3-content-md5.ts";
import { mapS3Error } from "./s3-errors.ts";

export interface S3BackendOptions {
  bucket: string;
  /** Key prefix inside the bucket ("" for the bucket root); leading and trailing "/" are ignored. */
  prefix: string;
  /** Custom endpoint for S3-compatible servers (MinIO, s3rver, ...); enables path-style URLs. */
  endpoint?: string;
  region?: string;
  /** Without an access key the SDK's default chain (env, profile, instance role) applies. */
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  /** Multipart part size for streamed puts (default 8 MiB, S3's minimum is 5 MiB). */
  partSize?: number;
  /** Parts in flight at once; memory is about partSize × (queueSize + 1). Default 2. */
  queueSize?: number;
  /** S3 storage class for pack objects under data/ (e.g. STANDARD_IA); metadata stays STANDARD. */
  storageClass?: string;
  /** PEM certificates to trust for an https endpoint (a private CA); replaces the default roots. */
  caPem?: string;
}

const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
/** S3 accepts at most 1000 keys per DeleteObjects call. */
const DELETE_BATCH = 1000;

/** A repository under a prefix of an S3 (or S3-compatible) bucket. */
export class S3Backend implements Backend {
  readonly location: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly partSize: number;
  private readonly queueSize: number;
  private readonly storageClass: StorageClass | undefined;
  /** Set once the bucket is known to exist (see checkBucket). */
  private bucketSeen = false;

  constructor(opts: S3BackendOptions) {
    if (opts.bucket === "") throw new ValidationError("S3 bucket name is empty");
    this.bucket = opts.bucket;
    this.prefix = trimPrefix(opts.prefix);
    this.partSize = opts.partSize ?? DEFAULT_PART_SIZE;
    this.queueSize = opts.queueSize ?? 2;
    this.storageClass = (opts.storageClass || undefined) as StorageClass | undefined;
    this.location = locationOf(opts);
    this.client = new S3Client(clientConfig(opts));
    addContentMd5(this.client);
  }

  private key(name: string): string {
    validateName(name);
    return this.prefix === "" ? name : `${this.prefix}/${name}`;
  }

  /** Only packs take the storage class: config, keys, index and snapshots are read on every open. */
  private classOf(name: string): StorageClass | undefined {
    return name.startsWith("data/") ? this.storageClass : undefined;
  }

  private fail(context: string, err: unknown, signal?: AbortSignal): Error {
    return mapS3Error(`${context} in ${this.location}`, this.bucket, err, signal);
  }

  async put(
    name: string,
    data: Uint8Array | ReadableStream<Uint8Array>,
    options?: PutOptions,
  ): Promise<void> {
    const Key = this.key(name);
    throwIfAborted(options?.signal);
    if (data instanceof Uint8Array) {
      try {
        const cmd = new PutObjectCommand({
          Bucket: this.bucket,
          Key,
          Body: data,
          ContentLength: data.byteLength,
          StorageClass: this.classOf(name),
        });
        await this.client.send(cmd, { abortSignal: options?.signal });
      } catch (err) {
        throw this.fail(`upload ${name}`, err, options?.signal);
      }
      options?.onProgress?.(data.byteLength);
      return;
    }
    await this.putStream(name, Key, data, options);
  }

  /** Multipart upload through lib-storage: at most queueSize parts are buffered at a time. */
  private async putStream(name: string, Key: string, data: ReadableStream<Uint8Array>, options?: PutOptions) {
    const abortController = new AbortController();
    const onAbort = () => abortController.abort();
    options?.signal?.addEventListener("abort", onAbort, { once: true });
    const source = recordingErrors(data);
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key, Body: source.stream, StorageClass: this.classOf(name) },
      partSize: this.partSize,
      queueSize: this.queueSize,
      leavePartsOnError: false,
      abortController,
    });
    if (options?.onProgress) {
      const onProgress = options.onProgress;
      upload.on("httpUploadProgress", (p) => {
        if (p.loaded !== undefined) onProgress(p.loaded);
      });
    }
    try {
      await upload.done();
    } catch (err) {
      await source.stream.cancel(err).catch(() => {});
      // A failing source is the real cause; lib-storage may report its clean-up failing instead.
      throw this.fail(`upload ${name}`, source.error() ?? err, options?.signal);
    } finally {
      options?.signal?.removeEventListener("abort", onAbort);
    }
  }

  private async getObject(name: string, options?: GetOptions) {
    validateRange(options?.offset, options?.length);
    const Key = this.key(name);
    throwIfAborted(options?.signal);
    const Range = rangeHeader(options);
    if (Range === "empty") {
      await this.stat(name, options); // a zero-length read still reports a missing object
      return undefined;
    }
    try {
      const cmd = new GetObjectCommand({ Bucket: this.bucket, Key, Range });
      return await this.client.send(cmd, { abortSignal: options?.signal });
    } catch (err) {
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 416) {
        await this.stat(name, options); // offset past the end of an existing object: empty
        return undefined;
      }
      throw this.fail(`download ${name}`, err, options?.signal);
    }
  }

  async get(name: string, options?: GetOptions): Promise<Uint8Array> {
    const res = await this.getObject(name, options);
    if (!res?.Body) return new Uint8Array(0);
    let bytes: Uint8Array;
    try {
      bytes = await res.Body.transformToByteArray();
    } catch (err) {
      throw this.fail(`download ${name}`, err, options?.signal);
    }
    // A body cut short without an error (a proxy or server closing early) is a failed read that
    // may pass on retry, not data: callers would take it for a damaged object.
    const expected = res.ContentLength;
    if (expected !== undefined && bytes.byteLength < expected) {
      throw new TransientStorageError(
        `download ${name} in ${this.location}: got ${bytes.byteLength} of ${expected} bytes`,
      );
    }
    return bytes;
  }

  async getStream(name: string, options?: GetOptions): Promise<ReadableStream<Uint8Array>> {
    const res = await this.getObject(name, options);
    if (!res?.Body) return new ReadableStream({ start: (c) => c.close() });
    const body = res.Body.transformToWebStream() as ReadableStream<Uint8Array>;
    return mapStreamErrors(
      body,
      (err) => this.fail(`download ${name}`, err, options?.signal),
      res.ContentLength,
    );
  }

  async stat(name: string, options?: { signal?: AbortSignal }): Promise<ObjectInfo> {
    const Key = this.key(name);
    throwIfAborted(options?.signal);
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }), {
        abortSignal: options?.signal,
      });
      return { name, size: res.ContentLength ?? 0 };
    } catch (err) {
      const mapped = this.fail(`stat ${name}`, err, options?.signal);
      if (mapped instanceof NotFoundError) await this.checkBucket(options?.signal);
      throw mapped;
    }
  }

  /**
   * A HEAD answer has no body, so a missing bucket looks like a missing object. On the first
   * such 404 ask about the bucket once, so the user hears "bucket does not exist" instead.
   */
  private async checkBucket(signal?: AbortSignal): Promise<void> {
    if (this.bucketSeen) return;
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }), { abortSignal: signal });
      this.bucketSeen = true;
    } catch (err) {
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 404) {
        throw new PermanentStorageError(`stat in ${this.location}: bucket "${this.bucket}" does not exist`, {
          cause: err,
        });
      }
      // Any other answer (403 on HeadBucket is common with narrow policies): keep the NotFound.
    }
  }

  async *list(prefix: string, options?: { signal?: AbortSignal }): AsyncIterable<ObjectInfo> {
    validatePrefix(prefix);
    const base = this.prefix === "" ? "" : `${this.prefix}/`;
    let ContinuationToken: string | undefined;
    do {
      throwIfAborted(options?.signal);
      const cmd = new ListObjectsV2Command({ Bucket: this.bucket, Prefix: base + prefix, ContinuationToken });
      let page: ListObjectsV2CommandOutput;
      try {
        page = await this.client.send(cmd, { abortSignal: options?.signal });
      } catch (err) {
        throw this.fail(`list ${prefix || "/"}`, err, options?.signal);
      }
      for (const item of page.Contents ?? []) {
        if (item.Key?.startsWith(base)) yield { name: item.Key.slice(base.length), size: item.Size ?? 0 };
      }
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }

  async delete(name: string, options?: { signal?: AbortSignal }): Promise<void> {
    const Key = this.key(name);
    throwIfAborted(options?.signal);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key }), {
        abortSignal: options?.signal,
      });
    } catch (err) {
      const mapped = this.fail(`delete ${name}`, err, options?.signal);
      if (mapped.name !== "NotFoundError") throw mapped;
    }
  }

  /**
   * Deletes many objects with DeleteObjects, 1000 per request. Missing objects are not errors.
   * Throws PermanentStorageError naming the first key the server refused.
   */
  async deleteMany(names: readonly string[], options?: { signal?: AbortSignal }): Promise<void> {
    const keys = names.map((n) => this.key(n));
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      throwIfAborted(options?.signal);
      const Objects = keys.slice(i, i + DELETE_BATCH).map((Key) => ({ Key }));
      let res: { Errors?: { Key?: string; Code?: string; Message?: string }[] };
      try {
        const cmd = new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects, Quiet: true } });
        res = await this.client.send(cmd, { abortSignal: options?.signal });
      } catch (err) {
        throw this.fail(`delete ${Objects.length} objects`, err, options?.signal);
      }
      const first = res.Errors?.find((e) => e.Code !== "NoSuchKey");
      if (first) {
        const err = Object.assign(new Error(first.Message ?? "delete failed"), {
          name: first.Code,
          Code: first.Code,
        });
        throw this.fail(`delete ${first.Key}`, Object.assign(err, { $metadata: { httpStatusCode: 400 } }));
      }
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}

export function createS3Backend(opts: S3BackendOptions): S3Backend {
  return new S3Backend(opts);
}

/** The HTTP Range header for a read, "empty" for a zero-length one, undefined for the whole object. */
function rangeHeader(options?: GetOptions): string | undefined | "empty" {
  const offset = options?.offset ?? 0;
  if (options?.length === 0) return "empty";
  if (options?.length !== undefined) return `bytes=${offset}-${offset + options.length - 1}`;
  return offset > 0 ? `bytes=${offset}-` : undefined;
}

/**
 * Re-raises mid-body socket errors as our kinds so the retry wrapper can resume the read; a body
 * ending before `expected` bytes fails with a transient error (the retry resumes from the byte reached).
 */
function mapStreamErrors(
  body: ReadableStream<Uint8Array>,
  map: (err: unknown) => Error,
  expected?: number,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let received = 0;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (!done) {
            received += value.byteLength;
            return controller.enqueue(value);
          }
          if (expected !== undefined && received < expected) {
            throw new TransientStorageError(`stream ended after ${received} of ${expected} bytes`);
          }
          controller.close();
        } catch (err) {
          controller.error(map(err));
        }
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
}

/** Passes `source` through and remembers the error reading it failed with, if any. */
function recordingErrors(source: ReadableStream<Uint8Array>): {
  stream: ReadableStream<Uint8Array>;
  error(): unknown;
} {
  const reader = source.getReader();
  let failure: unknown;
  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (err) {
          failure = err;
          controller.error(err);
        }
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
  return { stream, error: () => failure };
}
