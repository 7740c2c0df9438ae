/**
 * The generic SSE helper (src/web/sse.ts) with a feed of its own over a real bus and a real Bun
 * listener: initial frames, coalesced updates, heartbeat comments while idle, final frames that end
 * the stream, the per-user cap, and the subscription freed when the client leaves.
 */
import { Hono } from "hono";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { BusEvent } from "../../src/events/types.ts";
import type { AppEnv } from "../../src/web/context.ts";
import { type LiveFeed, liveStream } from "../../src/web/sse.ts";
import { createTestApp } from "../helpers/auth-app.ts";
import { openSse } from "../helpers/sse.ts";

let t: ReturnType<typeof createTestApp>;
let listener: ReturnType<typeof Bun.serve>;
let base = "";

/** A feed that counts config.changed events of job "j" and ends on alert.resolved. */
function counterFeed(): LiveFeed {
  let n = 0;
  return {
    accepts: (e) => e.configId === "j",
    initial: (last) => ({ frames: [{ event: "count", data: String(n), id: last ?? "0" }], end: false }),
    apply(e) {
      if (e.type === "alert.resolved") return { end: [{ event: "end", data: String(n) }] };
      n++;
      return "update";
    },
    latest: () => ({ event: "count", data: String(n), id: String(n) }),
  };
}

beforeEach(() => {
  t = createTestApp();
  const app = new Hono<AppEnv>();
  app.use("*", async (c, next) => {
    c.set("services", t.services);
    await next();
  });
  app.get("/s/:user", (c) =>
    liveStream(c, c.req.param("user"), counterFeed(), { heartbeatMs: 50, perUser: 2 }),
  );
  app.onError((e) => new Response(e.message, { status: (e as { status?: number }).status ?? 500 }));
  listener = Bun.serve({ port: 0, hostname: "127.0.0.1", idleTimeout: 0, fetch: app.fetch });
  base = `http://127.0.0.1:${listener.port}`;
});

afterEach(() => {
  listener.stop(true);
  t.close();
});

const changed = (): BusEvent => ({ type: "config.changed", userId: "u", configId: "j", logId: null, at: 1 });

describe("liveStream", () => {
  it("sends the initial state, coalesces a burst into the newest state, beats while idle, ends with the final frames", async () => {
    const s = await openSse(`${base}/s/u`, { "last-event-id": "7" });
    expect(s.headers.get("content-type")).toContain("text/event-stream");
    expect(await s.next()).toEqual({ event: "count", data: "0", id: "7" });
    for (let i = 0; i < 50; i++) t.services.events.publish(changed());
    // One frame for the burst (two if the interval ran out while it was being read).
    const frames = [await s.next()];
    while (frames.at(-1)?.data !== "50") frames.push(await s.next());
    expect(frames.length).toBeLessThanOrEqual(2);
    expect(frames.at(-1)).toEqual({ event: "count", data: "50", id: "50" });
    t.services.events.publish({ ...changed(), configId: "other" });
    expect(await s.untilComments(2)).toBe(true);
    expect(s.comments[0]).toBe(": heartbeat");
    t.services.events.publish({
      type: "alert.resolved",
      userId: "u",
      configId: "j",
      logId: null,
      at: 2,
      alertId: "a",
      kind: "k",
    });
    expect(await s.rest()).toEqual([{ event: "end", data: "50", id: null }]);
  });

  it("caps streams per user and gives the slot and the subscription back when a client leaves", async () => {
    const bus = t.services.events;
    const before = bus.subscriberCount();
    const a = await openSse(`${base}/s/u`);
    const b = await openSse(`${base}/s/u`);
    await a.next();
    await b.next();
    expect(bus.subscriberCount()).toBe(before + 2);
    const c = await openSse(`${base}/s/u`);
    expect(c.status).toBe(429);
    const other = await openSse(`${base}/s/v`);
    expect(other.status).toBe(200);
    other.close();
    a.close();
    for (let i = 0; i < 200 && bus.subscriberCount() > before + 1; i++) await Bun.sleep(10);
    expect(bus.subscriberCount()).toBe(before + 1);
    const d = await openSse(`${base}/s/u`);
    expect(d.status).toBe(200);
    b.close();
    d.close();
    for (let i = 0; i < 200 && bus.subscriberCount() > before; i++) await Bun.sleep(10);
    expect(bus.subscriberCount()).toBe(before);
  });

  it("ends every stream when the bus closes (server shutdown)", async () => {
    const s = await openSse(`${base}/s/u`);
    await s.next();
    t.services.events.close();
    expect(await s.rest()).toEqual([]);
  });
});
