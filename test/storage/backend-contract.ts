import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Backend } from "../../src/storage/backend.ts";
import { readAll } from "../../src/storage/memory.ts";
import { CancelledError, NotFoundError, ValidationError } from "../../src/util/errors.ts";

export interface ContractSubject {
  backend: Backend;
  cleanup(): Promise<void>;
}

export interface ContractOptions {
  /**
   * Most bytes a streamed put may have pulled from its source beyond what it reported as sent
   * (onProgress); undefined for backends that buffer whole by design (the in-memory double).
   */
  maxReadAheadBytes?: number;
}

const MiB = 1024 * 1024;
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** Deterministic pseudo-random bytes for chunk `i` (xorshift), so data is checkable without storing it. */
function chunkBytes(i: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = (i + 1) * 2654435761;
  for (let j = 0; j < size; j += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[j] = x & 255;
    out[j + 1] = (x >>> 8) & 255;
    out[j + 2] = (x >>> 16) & 255;
    out[j + 3] = (x >>> 24) & 255;
  }
  return out;
}

/** A pull-based source of `count` chunks that records how many bytes were pulled. */
export function generatedStream(
  count: number,
  size: number,
  hooks: { onPull?: (pulledBytes: number, index: number) => void } = {},
): { stream: ReadableStream<Uint8Array>; sha256: string; pulled(): number } {
  const hash = createHash("sha256");
  for (let i = 0; i < count; i++) hash.update(chunkBytes(i, size));
  let i = 0;
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (i >= count) return controller.close();
        pulled += size;
        hooks.onPull?.(pulled, i);
        controller.enqueue(chunkBytes(i++, size));
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, sha256: hash.digest("hex"), pulled: () => pulled };
}

async function sha256Of(stream: ReadableStream<Uint8Array>): Promise<{ hex: string; size: number }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const part of stream) {
    hash.update(part);
    size += part.byteLength;
  }
  return { hex: hash.digest("hex"), size };
}

async function listNames(backend: Backend, prefix: string): Promise<string[]> {
  const names: string[] = [];
  for await (const info of backend.list(prefix)) names.push(info.name);
  return names.sort();
}

/** Runs `task` over `items` with at most `limit` in flight. */
async function pool<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++] as T);
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

/** The storage contract of src/storage/backend.ts, run against one kind of backend. */
export function defineBackendContract(
  label: string,
  open: () => Promise<ContractSubject>,
  options: ContractOptions = {},
): void {
  describe(`Backend contract: ${label}`, () => {
    let subject: ContractSubject;
    let b: Backend;
    beforeAll(async () => {
      subject = await open();
      b = subject.backend;
    });
    afterAll(async () => {
      await subject.backend.close();
      await subject.cleanup();
    });

    it("stores and reads bytes, overwrites, and keeps its own copy", async () => {
      const data = enc("hello world");
      await b.put("basic/one", data);
      data[0] = 0;
      expect(dec(await b.get("basic/one"))).toBe("hello world");
      await b.put("basic/one", enc("second"));
      expect(dec(await b.get("basic/one"))).toBe("second");
      await b.put("basic/empty", new Uint8Array(0));
      expect((await b.get("basic/empty")).byteLength).toBe(0);
      expect(await b.stat("basic/empty")).toEqual({ name: "basic/empty", size: 0 });
      expect(b.location).not.toMatch(/S3RVER/);
    });

    it("reads ranges: offset, length, past the end", async () => {
      await b.put("range/obj", enc("0123456789"));
      expect(dec(await b.get("range/obj", { offset: 3 }))).toBe("3456789");
      expect(dec(await b.get("range/obj", { offset: 2, length: 4 }))).toBe("2345");
      expect(dec(await b.get("range/obj", { length: 3 }))).toBe("012");
      expect(dec(await b.get("range/obj", { offset: 8, length: 10 }))).toBe("89");
      expect((await b.get("range/obj", { offset: 10 })).byteLength).toBe(0);
      expect((await b.get("range/obj", { offset: 25, length: 4 })).byteLength).toBe(0);
      expect((await b.get("range/obj", { offset: 4, length: 0 })).byteLength).toBe(0);
      await expect(b.get("range/missing", { offset: 2, length: 2 })).rejects.toBeInstanceOf(NotFoundError);
      await expect(b.get("range/missing", { length: 0 })).rejects.toBeInstanceOf(NotFoundError);
    });

    it("streams whole objects and ranges", async () => {
      await b.put("stream/obj", enc("abcdefghij"));
      expect(dec(await readAll(await b.getStream("stream/obj")))).toBe("abcdefghij");
      expect(dec(await readAll(await b.getStream("stream/obj", { offset: 5 })))).toBe("fghij");
      expect(dec(await readAll(await b.getStream("stream/obj", { offset: 1, length: 3 })))).toBe("bcd");
      expect((await readAll(await b.getStream("stream/obj", { offset: 50 }))).byteLength).toBe(0);
      await expect(b.getStream("stream/missing")).rejects.toBeInstanceOf(NotFoundError);
    });

    it("reports sizes with stat and NotFoundError for missing objects", async () => {
      await b.put("stat/a", new Uint8Array(1234));
      expect(await b.stat("stat/a")).toEqual({ name: "stat/a", size: 1234 });
      await expect(b.stat("stat/missing")).rejects.toBeInstanceOf(NotFoundError);
      await expect(b.get("stat/missing")).rejects.toBeInstanceOf(NotFoundError);
      await expect(b.stat("stat")).rejects.toBeInstanceOf(NotFoundError);
    });

    it("lists by prefix, including partial segments, and nothing for an unknown prefix", async () => {
      for (const name of [
        "ls/snapshots/s1",
        "ls/snapshots/s2",
        "ls/data/3f/3fa",
        "ls/data/3f/3fb",
        "ls/data/40/40a",
      ]) {
        await b.put(name, enc(name));
      }
      expect(await listNames(b, "ls/snapshots/")).toEqual(["ls/snapshots/s1", "ls/snapshots/s2"]);
      expect(await listNames(b, "ls/data/3")).toEqual(["ls/data/3f/3fa", "ls/data/3f/3fb"]);
      expect(await listNames(b, "ls/data/")).toHaveLength(3);
      expect(await listNames(b, "ls/nothing/")).toEqual([]);
      expect(await listNames(b, "zz-unknown")).toEqual([]);
      const infos: { name: string; size: number }[] = [];
      for await (const info of b.list("ls/snapshots/s1")) infos.push(info);
      expect(infos).toEqual([{ name: "ls/snapshots/s1", size: "ls/snapshots/s1".length }]);
      expect((await listNames(b, "")).length).toBeGreaterThanOrEqual(5);
    });

    it("lists more than 1000 objects across pages", async () => {
      const names = Array.from({ length: 1003 }, (_, i) => `many/${String(i).padStart(4, "0")}`);
      await pool(names, 16, (name) => b.put(name, enc("x")));
      const listed = await listNames(b, "many/");
      expect(listed).toEqual(names);
    });

    it("deletes idempotently", async () => {
      await b.put("del/a", enc("a"));
      await b.delete("del/a");
      await expect(b.get("del/a")).rejects.toBeInstanceOf(NotFoundError);
      await expect(b.stat("del/a")).rejects.toBeInstanceOf(NotFoundError);
      await b.delete("del/a");
      await b.delete("del/never-existed");
      expect(await listNames(b, "del/")).toEqual([]);
    });

    it("rejects names that are empty, absolute or escape the root", async () => {
      for (const bad of ["", "/abs", "../escape", "a/../../b", "a//b", "a/./b", "trailing/"]) {
        await expect(b.put(bad, enc("x")), bad).rejects.toBeInstanceOf(ValidationError);
      }
    });

    it("streams a 20 MiB put piecewise with bounded read-ahead", async () => {
      let progress = 0;
      let maxAhead = 0;
      const src = generatedStream(20, MiB, {
        onPull: (pulled) => {
          maxAhead = Math.max(maxAhead, pulled - progress);
        },
      });
      await b.put("big/stream", src.stream, {
        onProgress: (sent) => {
          progress = sent;
        },
      });
      expect(src.pulled()).toBe(20 * MiB);
      expect(progress).toBe(20 * MiB);
      if (options.maxReadAheadBytes !== undefined)
        expect(maxAhead).toBeLessThanOrEqual(options.maxReadAheadBytes);
      expect((await b.stat("big/stream")).size).toBe(20 * MiB);
      const read = await sha256Of(await b.getStream("big/stream"));
      expect(read).toEqual({ hex: src.sha256, size: 20 * MiB });
      const tail = await b.get("big/stream", { offset: 20 * MiB - 10 });
      expect(tail.byteLength).toBe(10);
    });

    it("honours AbortSignal: nothing is stored by an aborted put", async () => {
      const aborted = AbortSignal.abort();
      await expect(b.put("abort/pre", enc("x"), { signal: aborted })).rejects.toBeInstanceOf(CancelledError);
      await expect(b.get("abort/pre")).rejects.toBeInstanceOf(NotFoundError);
      await b.put("abort/exists", enc("x"));
      await expect(b.get("abort/exists", { signal: aborted })).rejects.toBeInstanceOf(CancelledError);
      await expect(b.stat("abort/exists", { signal: aborted })).rejects.toBeInstanceOf(CancelledError);
      await expect(b.delete("abort/exists", { signal: aborted })).rejects.toBeInstanceOf(CancelledError);
      await expect(listNames2(b, "abort/", aborted)).rejects.toBeInstanceOf(CancelledError);

      const controller = new AbortController();
      const src = generatedStream(12, MiB, {
        onPull: (_pulled, index) => {
          if (index === 6) controller.abort();
        },
      });
      await expect(b.put("abort/mid", src.stream, { signal: controller.signal })).rejects.toBeInstanceOf(
        CancelledError,
      );
      await expect(b.stat("abort/mid")).rejects.toBeInstanceOf(NotFoundError);
      expect(await listNames(b, "abort/")).toEqual(["abort/exists"]);
    });
  });
}

async function listNames2(backend: Backend, prefix: string, signal: AbortSignal): Promise<string[]> {
  const names: string[] = [];
  for await (const info of backend.list(prefix, { signal })) names.push(info.name);
  return names;
}
