/**
 * Counts the bytes a run stores (every successful put of a pack, index or snapshot), so live
 * progress can say "uploaded" next to "read". A decorator over any Backend, like the storage
 * layer's rate-limit and retry wrappers; streams are counted as they are read by the store.
 */
import type { Backend } from "../storage/backend.ts";

function counted(data: Uint8Array | ReadableStream<Uint8Array>, add: (n: number) => void) {
  if (data instanceof Uint8Array) return { body: data, bytes: data.byteLength };
  const meter = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      add(chunk.byteLength);
      controller.enqueue(chunk);
    },
  });
  return { body: data.pipeThrough(meter), bytes: 0 };
}

/** `backend` with every stored byte reported to `onUpload` once its put succeeded (streams: as sent). */
export function withUploadCount(backend: Backend, onUpload: (bytes: number) => void): Backend {
  return new Proxy(backend, {
    get(target, key, receiver) {
      if (key === "put") {
        const put: Backend["put"] = async (name, data, options) => {
          const { body, bytes } = counted(data, onUpload);
          await target.put(name, body, options);
          if (bytes > 0) onUpload(bytes);
        };
        return put;
      }
      const value = Reflect.get(target, key, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
