/**
 * An S3 backend that loads the AWS SDK on its first request. The SDK is the biggest part of the
 * program; with the binary's code splitting (build.ts) a command on a local repository, or one
 * that fails before touching storage, never loads it. The location is known at once (it names no
 * credentials); everything else waits for the real backend (s3.ts) and is handed to it unchanged.
 */
import type { Backend, GetOptions, ObjectInfo, PutOptions } from "./backend.ts";
import type { S3BackendOptions } from "./s3.ts";
import { locationOf } from "./s3-config.ts";

export class LazyS3Backend implements Backend {
  readonly location: string;
  private loading: Promise<Backend> | undefined;

  constructor(private readonly opts: S3BackendOptions) {
    this.location = locationOf(opts);
  }

  /** The real backend, made once. */
  private real(): Promise<Backend> {
    this.loading ??= import("./s3.ts").then((m) => m.createS3Backend(this.opts));
    return this.loading;
  }

  async put(name: string, data: Uint8Array | ReadableStream<Uint8Array>, options?: PutOptions) {
    return (await this.real()).put(name, data, options);
  }

  async get(name: string, options?: GetOptions) {
    return (await this.real()).get(name, options);
  }

  async getStream(name: string, options?: GetOptions) {
    return (await this.real()).getStream(name, options);
  }

  async stat(name: string, options?: { signal?: AbortSignal }) {
    return (await this.real()).stat(name, options);
  }

  async *list(prefix: string, options?: { signal?: AbortSignal }): AsyncIterable<ObjectInfo> {
    yield* (await this.real()).list(prefix, options);
  }

  async delete(name: string, options?: { signal?: AbortSignal }) {
    return (await this.real()).delete(name, options);
  }

  /** Closing a backend that never made a request loads nothing. */
  async close() {
    const real = await this.loading?.catch(() => undefined);
    await real?.close();
  }
}
