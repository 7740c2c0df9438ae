import { describe, expect, it } from "vitest";
import { createMemoryBackend } from "../../src/storage/memory.ts";
import { TokenBucket, withRateLimit } from "../../src/storage/throttle.ts";
import { createManualClock } from "../../src/util/clock.ts";
import { CancelledError, ValidationError } from "../../src/util/errors.ts";

const KiB = 1024;

/**
 * A manual clock and a sleep that moves it to the sleeper's wake-up time, so no test waits on
 * wall time. The move happens after a yield, so sleeps begun together overlap as real ones do.
 */
function virtualTime() {
  const clock = createManualClock(1_000_000);
  const sleeps: number[] = [];
  const sleep = async (ms: number, signal?: AbortSignal) => {
    if (signal?.aborted) throw new CancelledError();
    const wake = clock.now() + ms;
    sleeps.push(ms);
    await null;
    if (clock.now() < wake) clock.set(wake);
  };
  return { clock, sleep, sleeps, elapsed: () => clock.now() - 1_000_000 };
}

describe("TokenBucket", () => {
  it("allows the burst at once, then charges time at the rate", async () => {
    const t = virtualTime();
    const bucket = new TokenBucket({ ratePerSecond: 1000, capacity: 500, clock: t.clock, sleep: t.sleep });
    await bucket.take(500);
    expect(t.elapsed()).toBe(0);
    await bucket.take(250);
    expect(t.elapsed()).toBe(250);
    expect(bucket.available()).toBe(0);
    t.clock.advance(10_000); // idle: refills only up to capacity
    expect(bucket.available()).toBe(500);
  });

  it("lets concurrent takers queue up in debt so the total rate holds", async () => {
    const t = virtualTime();
    const bucket = new TokenBucket({ ratePerSecond: 100, clock: t.clock, sleep: t.sleep });
    await Promise.all([bucket.take(100), bucket.take(100), bucket.take(100)]);
    // 300 tokens with 100 in the bucket: the 2nd waits 1 s, the 3rd 2 s (overlapping waits).
    expect(t.sleeps).toEqual([1000, 2000]);
  });

  it("rejects a non-positive rate", () => {
    expect(() => new TokenBucket({ ratePerSecond: 0 })).toThrow(ValidationError);
  });
});

describe("withRateLimit", () => {
  it("limits a bytes put to the rate after the one-second burst", async () => {
    const t = virtualTime();
    const inner = createMemoryBackend();
    const backend = withRateLimit(inner, { bytesPerSecond: 100 * KiB, clock: t.clock, sleep: t.sleep });
    const data = new Uint8Array(1024 * KiB).fill(7, 0, 512 * KiB).fill(9, 512 * KiB);
    await backend.put("obj", data);
    expect(Buffer.from(await inner.get("obj")).equals(data)).toBe(true);
    // 1024 KiB at 100 KiB/s with 100 KiB saved up: 9.24 s of waiting.
    expect(t.elapsed()).toBeCloseTo(9240, 0);
    expect(Math.max(...t.sleeps)).toBeLessThanOrEqual(50); // paid in slices of 1/20 s
  });

  it("limits streams and shares one budget across puts", async () => {
    const t = virtualTime();
    const inner = createMemoryBackend();
    const backend = withRateLimit(inner, {
      bytesPerSecond: 10 * KiB,
      burstBytes: 0,
      clock: t.clock,
      sleep: t.sleep,
    });
    const chunk = new Uint8Array(100 * KiB);
    const stream = () =>
      new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(chunk);
          c.enqueue(chunk);
          c.close();
        },
      });
    await Promise.all([backend.put("s1", stream()), backend.put("s2", stream())]);
    expect((await inner.stat("s1")).size).toBe(200 * KiB);
    expect(t.elapsed()).toBeGreaterThanOrEqual(40_000);
    expect(t.elapsed()).toBeLessThanOrEqual(40_000 + 6400);
  });

  it("passes reads through unthrottled and stops on abort", async () => {
    const t = virtualTime();
    const inner = createMemoryBackend();
    await inner.put("x", new Uint8Array([1, 2, 3]));
    const backend = withRateLimit(inner, { bytesPerSecond: 1, clock: t.clock, sleep: t.sleep });
    expect(await backend.get("x")).toEqual(new Uint8Array([1, 2, 3]));
    expect(await backend.stat("x")).toEqual({ name: "x", size: 3 });
    expect((await backend.getStream("x")).locked).toBe(false);
    const names: string[] = [];
    for await (const info of backend.list("")) names.push(info.name);
    expect(names).toEqual(["x"]);
    await backend.delete("x");
    await expect(
      backend.put("y", new Uint8Array(10), { signal: AbortSignal.abort() }),
    ).rejects.toBeInstanceOf(CancelledError);
    await backend.put("empty", new Uint8Array(0));
    expect((await inner.stat("empty")).size).toBe(0);
    expect(backend.location).toBe("memory:");
    await backend.close();
    expect(t.elapsed()).toBe(0);
  });
});
