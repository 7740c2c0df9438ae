import { describe, expect, it } from "vitest";
import { createProgress, eta, windowRate } from "../../src/engine/progress.ts";
import type { ProgressEvent } from "../../src/engine/types.ts";

describe("progress aggregator", () => {
  it("leaves unsettled bytes out of bytes_done until finish, never going backwards", () => {
    let t = 0;
    let unsettled = 0;
    const done: number[] = [];
    const p = createProgress({
      operation: "backup",
      listener: (e) => {
        if (e.type === "progress") done.push(e.bytes_done);
      },
      intervalMs: 10,
      now: () => t,
      unsettled: () => unsettled,
    });
    p.scan(1, 1000, true);
    const step = (bytes: number, pending: number) => {
      p.addBytes(bytes);
      unsettled = pending;
      t += 100;
      p.tick();
    };
    step(400, 300); // read 400, 300 still queued for upload
    step(600, 1000); // all read, all queued: shown must not drop below 100
    step(0, 200);
    step(0, 1); // reading done, last packs still being sent
    p.finish();
    expect(done).toEqual([100, 100, 800, 999, 1000]);
  });

  it("emits start, scan, throttled progress with rate and ETA, errors, and a final event", () => {
    let t = 1_000_000;
    const events: ProgressEvent[] = [];
    const p = createProgress({
      operation: "restore",
      listener: (e) => events.push(e),
      intervalMs: 100,
      now: () => t,
    });
    expect(events[0]).toEqual({
      type: "start",
      operation: "restore",
      time: new Date(1_000_000).toISOString(),
    });
    p.scan(10, 1000, false);
    p.fileStarted("/a");
    p.addBytes(100);
    t += 1000;
    p.tick();
    p.tick(); // throttled: same instant
    p.scan(10, 1000, true);
    p.fileDone("/a");
    p.error("/b", "boom");
    p.addBytes(100);
    t += 1000;
    p.tick();
    p.finish();
    p.finish(); // idempotent
    const progress = events.filter((e) => e.type === "progress");
    expect(progress).toHaveLength(3);
    expect(progress[0]).toMatchObject({
      files_done: 0,
      bytes_done: 100,
      current: ["/a"],
      eta: null,
      errors: 0,
    });
    expect(progress[0]!.rate).toBe(100);
    expect(progress[1]).toMatchObject({
      files_done: 1,
      bytes_done: 200,
      current: [],
      errors: 1,
      elapsed_ms: 2000,
    });
    expect(progress[1]!.rate).toBe(100);
    expect(progress[1]!.eta).toBe(8);
    expect(events).toContainEqual({ type: "error", path: "/b", message: "boom" });
    expect(events).toContainEqual({ type: "scan", files_total: 10, bytes_total: 1000, done: true });
    expect(p.filesDone).toBe(1);
    expect(p.bytesDone).toBe(200);
  });

  it("never reports totals below what is done", () => {
    const events: ProgressEvent[] = [];
    const p = createProgress({ operation: "backup", listener: (e) => events.push(e), now: () => 0 });
    p.fileDone("/x");
    p.addBytes(50);
    p.finish();
    expect(events.at(-1)).toMatchObject({ files_total: 1, bytes_total: 50, rate: 0, eta: null });
  });

  it("computes the rate over the recent window only", () => {
    const samples: Array<[number, number]> = [
      [0, 0],
      [1000, 1_000_000],
      [20_000, 1_000_000],
      [21_000, 2_000_000],
    ];
    expect(windowRate(samples, 21_000, 10_000)).toBe(1_000_000); // the last second only
    expect(samples).toHaveLength(2);
    expect(windowRate([], 0, 1000)).toBe(0);
    expect(eta(0, 100, 10, true)).toBe(10);
    expect(eta(0, 100, 10, false)).toBeNull();
    expect(eta(0, 100, 0, true)).toBeNull();
  });
});
