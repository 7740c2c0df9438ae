import { describe, expect, it } from "vitest";
import { createEventBus } from "../../src/events/bus.ts";
import type { BusEvent } from "../../src/events/types.ts";

const base = { userId: "u1", configId: "c1", logId: "l1", at: 0 };
const progress = (n: number): BusEvent => ({
  ...base,
  type: "run.progress",
  progress: {
    filesDone: n,
    filesTotal: 10,
    bytesDone: n,
    bytesTotal: 10,
    rate: 0,
    eta: null,
    errors: 0,
    current: [],
  },
});
const finished: BusEvent = {
  ...base,
  type: "run.finished",
  status: "completed",
  snapshotId: "s",
  reason: null,
};

describe("event bus", () => {
  it("delivers in order to each subscriber that accepts the event", async () => {
    const bus = createEventBus();
    const mine = bus.subscribe({ filter: (e) => e.userId === "u1" });
    const other = bus.subscribe({ filter: (e) => e.userId === "u2" });
    bus.publish({ ...base, type: "run.started" });
    bus.publish(finished);
    expect((await mine.next())?.type).toBe("run.started");
    expect((await mine.next())?.type).toBe("run.finished");
    const ac = new AbortController();
    const waiting = other.next(ac.signal);
    ac.abort();
    expect(await waiting).toBeNull();
  });

  it("a full queue drops the oldest progress but never a terminal event", async () => {
    const bus = createEventBus();
    const sub = bus.subscribe({ maxQueue: 3 });
    bus.publish(progress(1));
    bus.publish(finished);
    bus.publish(progress(2));
    bus.publish(progress(3));
    bus.publish({ ...finished, logId: "l2" });
    const got: BusEvent[] = [];
    for (let i = 0; i < 3; i++) got.push((await sub.next()) as BusEvent);
    expect(got.map((e) => (e.type === "run.progress" ? e.progress.filesDone : e.logId))).toEqual([
      "l1",
      3,
      "l2",
    ]);
    expect(sub.dropped).toBe(2);
  });

  it("a full queue of terminal events grows rather than lose one", async () => {
    const bus = createEventBus();
    const sub = bus.subscribe({ maxQueue: 1 });
    bus.publish(finished);
    bus.publish({ ...finished, logId: "l2" });
    expect((await sub.next())?.logId).toBe("l1");
    expect((await sub.next())?.logId).toBe("l2");
  });

  it("a waiting next() gets the event at once; close wakes it with null and removes the subscriber", async () => {
    const bus = createEventBus();
    const sub = bus.subscribe();
    const waiting = sub.next();
    bus.publish(finished);
    expect((await waiting)?.type).toBe("run.finished");
    const pending = sub.next();
    expect(bus.subscriberCount()).toBe(1);
    bus.close();
    expect(await pending).toBeNull();
    expect(bus.subscriberCount()).toBe(0);
    expect(sub.closed).toBe(true);
  });

  it("repeated aborted waits leave no abort listeners behind", async () => {
    const bus = createEventBus();
    const sub = bus.subscribe();
    const ac = new AbortController();
    let added = 0;
    let removed = 0;
    const add = ac.signal.addEventListener.bind(ac.signal);
    const remove = ac.signal.removeEventListener.bind(ac.signal);
    ac.signal.addEventListener = ((...a: Parameters<typeof add>) => {
      added++;
      add(...a);
    }) as typeof add;
    ac.signal.removeEventListener = ((...a: Parameters<typeof remove>) => {
      removed++;
      remove(...a);
    }) as typeof remove;
    for (let i = 0; i < 5; i++) {
      const p = sub.next(ac.signal);
      bus.publish(progress(i));
      await p;
    }
    expect(added).toBe(5);
    expect(removed).toBe(5);
    sub.close();
  });
});
