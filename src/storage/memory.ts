import { CancelledError, NotFoundError } from "../util/errors.ts";
import type { Backend, GetOptions, ObjectInfo, PutOptions } from "./backend.ts";
import { validateName, validatePrefix, validateRange } from "./names.ts";

/** Reads a stream whole; only for small objects and the in-memory test double. */
export async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const part of stream) {
    parts.push(part);
    size += part.byteLength;
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

function checkSignal(signal?: AbortSignal): void {
  if (signal?.aborted) throw new CancelledError();
}

function slice(data: Uint8Array, options?: GetOptions): Uint8Array {
  validateRange(options?.offset, options?.length);
  const start = options?.offset ?? 0;
  const end = options?.length === undefined ? data.byteLength : start + options.length;
  return data.slice(start, end);
}

/** The in-memory Backend: a test double and a reference for the contract in backend.ts. */
export class MemoryBackend implements Backend {
  readonly location = "memory:";
  readonly objects = new Map<string, Uint8Array>();

  async put(
    name: string,
    data: Uint8Array | ReadableStream<Uint8Array>,
    options?: PutOptions,
  ): Promise<void> {
    validateName(name);
    checkSignal(options?.signal);
    const bytes = data instanceof Uint8Array ? data.slice() : await readAll(data);
    checkSignal(options?.signal);
    this.objects.set(name, bytes);
    options?.onProgress?.(bytes.byteLength);
  }

  async get(name: string, options?: GetOptions): Promise<Uint8Array> {
    validateName(name);
    checkSignal(options?.signal);
    const data = this.objects.get(name);
    if (!data) throw new NotFoundError(`${name}: not found`);
    return slice(data, options);
  }

  async getStream(name: string, options?: GetOptions): Promise<ReadableStream<Uint8Array>> {
    const bytes = await this.get(name, options);
    return new ReadableStream({
      start(controller) {
        controller.enqueue(bytes);
        controller.close();
      },
    });
  }

  async stat(name: string, options?: { signal?: AbortSignal }): Promise<ObjectInfo> {
    validateName(name);
    checkSignal(options?.signal);
    const data = this.objects.get(name);
    if (!data) throw new NotFoundError(`${name}: not found`);
    return { name, size: data.byteLength };
  }

  async *list(prefix: string, options?: { signal?: AbortSignal }): AsyncIterable<ObjectInfo> {
    validatePrefix(prefix);
    checkSignal(options?.signal);
    for (const [name, data] of [...this.objects]) {
      checkSignal(options?.signal);
      if (name.startsWith(prefix)) yield { name, size: data.byteLength };
    }
  }

  async delete(name: string, options?: { signal?: AbortSignal }): Promise<void> {
    validateName(name);
    checkSignal(options?.signal);
    this.objects.delete(name);
  }

  async close(): Promise<void> {}
}

export function createMemoryBackend(): MemoryBackend {
  return new MemoryBackend();
}
