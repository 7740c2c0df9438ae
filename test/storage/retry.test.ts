import { describe, expect, it } from "vitest";
import type { Backend, ObjectInfo } from "../../src/storage/backend.ts";
import { withFaults } from "../../src/storage/faulty.ts";
import { createMemoryBackend, readAll } from "../../src/storage/memory.ts";
import { abortableSleep, type RetryEvent, withRetry } from "../../src/storage/retry.ts";
import {
  CancelledError,
  NotFoundError,
  PermanentStorageError,
  TransientStorageError,
  ValidationError,
} from "../../src/util/errors.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** Retry options that never really wait, recording the waits asked for. */
function fastRetry(
  extra: { attempts?: number; random?: () => number; baseDelayMs?: number; maxDelayMs?: number } = {},
) {
  const waits: number[] = [];
  const events: RetryEvent[] = [];
  return {
    waits,
    events,
    options: {
      ...extra,
      sleep: async (ms: number) => {
        waits.push(ms);
      },
      onRetry: (e: RetryEvent) => events.push(e),
    },
  };
}

describe("withRetry", () => {
  it("retries transient failures of a bytes put and succeeds", async () => {
    const inner = createMemoryBackend();
    const faulty = withFaults(inner, [{ method: "put", times: 2, fault: { kind: "transient" } }]);
    const r = fastRetry({ random: () => 0.5 });
    const backend = withRetry(faulty, r.options);
    await backend.put("a", enc("data"));
    expect(faulty.calls.put).toBe(3);
    expect(dec(await inner.get("a"))).toBe("data");
    expect(r.waits).toEqual([100, 200]);
    expect(r.events.map((e) => [e.operation, e.name, e.attempt])).toEqual([
      ["put", "a", 1],
      ["put", "a", 2],
    ]);
    expect(backend.location).toBe(inner.location);
  });

  it("never retries permanent, not-found, validation or cancellation errors", async () => {
    const cases = [
      { fault: { kind: "permanent" as const }, kind: PermanentStorageError },
      { fault: { kind: "not-found" as const }, kind: NotFoundError },
      { fault: { kind: "error" as const, make: () => new ValidationError("bad") }, kind: ValidationError },
      { fault: { kind: "error" as const, make: () => new CancelledError() }, kind: CancelledError },
      { fault: { kind: "error" as const, make: () => new TypeError("bug") }, kind: TypeError },
    ];
    for (const c of cases) {
      const faulty = withFaults(createMemoryBackend(), [{ method: "*", times: Infinity, fault: c.fault }]);
      const r = fastRetry();
      const backend = withRetry(faulty, r.options);
      await expect(backend.get("x")).rejects.toBeInstanceOf(c.kind);
      await expect(backend.stat("x")).rejects.toBeInstanceOf(c.kind);
      await expect(backend.delete("x")).rejects.toBeInstanceOf(c.kind);
      expect(faulty.calls.get + faulty.calls.stat + faulty.calls.delete).toBe(3);
      expect(r.waits).toEqual([]);
    }
  });

  it("bounds attempts and reports the count in the final error", async () => {
    const faulty = withFaults(createMemoryBackend(), [
      { method: "stat", times: Infinity, fault: { kind: "transient" } },
    ]);
    const r = fastRetry({ attempts: 4, random: () => 0 });
    const err = await withRetry(faulty, r.options)
      .stat("x")
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientStorageError);
    expect((err as Error).message).toMatch(/gave up after 4 attempts/);
    expect(faulty.calls.stat).toBe(4);
    expect(r.waits).toEqual([0, 0, 0]);
  });

  it("uses full jitter from the injected random, capped by maxDelayMs", async () => {
    const faulty = withFaults(createMemoryBackend(), [
      { method: "get", times: Infinity, fault: { kind: "transient" } },
    ]);
    const draws = [0.999, 0.5, 0.25, 0.999, 0.1];
    let i = 0;
    const r = fastRetry({ attempts: 6, baseDelayMs: 1000, maxDelayMs: 3000, random: () => draws[i++] ?? 0 });
    await expect(withRetry(faulty, r.options).get("x")).rejects.toBeInstanceOf(TransientStorageError);
    // caps: 1000, 2000, 3000 (4000 capped), 3000, 3000
    expect(r.waits).toEqual([999, 1000, 750, 2997, 300]);
  });

  it("does not retry a streamed put (a stream cannot be replayed)", async () => {
    const faulty = withFaults(createMemoryBackend(), [{ method: "put", fault: { kind: "transient" } }]);
    const r = fastRetry();
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(enc("x"));
        c.close();
      },
    });
    await expect(withRetry(faulty, r.options).put("s", stream)).rejects.toBeInstanceOf(TransientStorageError);
    expect(faulty.calls.put).toBe(1);
  });

  it("retries a put whose response was lost; the rewrite is harmless", async () => {
    const inner = createMemoryBackend();
    const faulty = withFaults(inner, [{ method: "put", fault: { kind: "lost-ack" } }]);
    await withRetry(faulty, fastRetry().options).put("p", enc("v"));
    expect(faulty.calls.put).toBe(2);
    expect(dec(await inner.get("p"))).toBe("v");
  });

  it("resumes a broken getStream from the byte reached", async () => {
    const inner = createMemoryBackend();
    const data = new Uint8Array(10_000).map((_, i) => i % 251);
    await inner.put("big", data);
    const faulty = withFaults(inner, [
      { method: "getStream", fault: { kind: "break-stream", afterBytes: 3000 } },
      { method: "getStream", after: 1, fault: { kind: "transient" } },
      { method: "getStream", after: 2, fault: { kind: "break-stream", afterBytes: 4000 } },
    ]);
    const r = fastRetry();
    const backend = withRetry(faulty, r.options);
    const whole = await readAll(await backend.getStream("big"));
    expect(whole).toEqual(data);
    expect(faulty.calls.getStream).toBe(4);
    const ranged = await readAll(await backend.getStream("big", { offset: 100, length: 5000 }));
    expect(ranged).toEqual(data.slice(100, 5100));
    expect(r.events.every((e) => e.operation === "getStream")).toBe(true);
  });

  it("gives up on a stream that keeps breaking without progress", async () => {
    const inner = createMemoryBackend();
    await inner.put("big", new Uint8Array(100));
    const faulty = withFaults(inner, [
      { method: "getStream", times: Infinity, fault: { kind: "break-stream", afterBytes: 0 } },
    ]);
    const backend = withRetry(faulty, fastRetry({ attempts: 3 }).options);
    await expect(readAll(await backend.getStream("big"))).rejects.toBeInstanceOf(TransientStorageError);
  });

  it("restarts a failed listing without yielding a name twice", async () => {
    const inner = createMemoryBackend();
    for (const n of ["l/a", "l/b", "l/c", "l/d"]) await inner.put(n, enc(n));
    let failures = 0;
    // A backend whose listing drops three times, each time a little further in.
    const flaky: Backend = {
      ...inner,
      location: inner.location,
      put: inner.put.bind(inner),
      get: inner.get.bind(inner),
      getStream: inner.getStream.bind(inner),
      stat: inner.stat.bind(inner),
      delete: inner.delete.bind(inner),
      close: inner.close.bind(inner),
      async *list(prefix: string): AsyncIterable<ObjectInfo> {
        let n = 0;
        for await (const info of inner.list(prefix)) {
          // Each run gets one name further before failing: progress between failures.
          if (n++ === failures + 1 && failures < 3) {
            failures++;
            throw new TransientStorageError("page failed");
          }
          yield info;
        }
      },
    };
    const r = fastRetry({ attempts: 2 });
    const names: string[] = [];
    for await (const info of withRetry(flaky, r.options).list("l/")) names.push(info.name);
    expect(names).toEqual(["l/a", "l/b", "l/c", "l/d"]);
    // attempts: 2 would allow one retry in a row; progress in between resets the count.
    expect(r.events.map((e) => e.attempt)).toEqual([1, 1, 1]);
  });

  it("stops waiting when the signal fires", async () => {
    const faulty = withFaults(createMemoryBackend(), [
      { method: "get", times: Infinity, fault: { kind: "transient" } },
    ]);
    const controller = new AbortController();
    const backend = withRetry(faulty, {
      baseDelayMs: 60_000,
      random: () => 1,
      onRetry: () => setTimeout(() => controller.abort(), 5),
    });
    await expect(backend.get("x", { signal: controller.signal })).rejects.toBeInstanceOf(CancelledError);
    expect(faulty.calls.get).toBe(1);
    await expect(abortableSleep(10, AbortSignal.abort())).rejects.toBeInstanceOf(CancelledError);
    await abortableSleep(1, new AbortController().signal);
  });
});
