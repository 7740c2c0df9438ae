/**
 * Server-Sent Event streams fed by the in-process bus, for anything that runs for a while (backup
 * runs here, restores in SNAP's routes). The caller describes the stream as a LiveFeed; this file
 * does the rest the same way for every stream:
 * - subscribe to the bus BEFORE reading the initial state, so nothing between the two is lost;
 * - coalesce updates: at most one frame per `intervalMs` (the newest state; older ones say less);
 * - a heartbeat comment every `heartbeatMs`, so proxies keep an idle stream open;
 * - end after the feed's final frames; free the subscription and the user's slot when the client
 *   goes away (the request's signal or the stream's abort, whichever comes first);
 * - a per-user cap on open streams (429 beyond).
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { type SSEStreamingApi, streamSSE } from "hono/streaming";
import type { EventBus, Subscription } from "../events/bus.ts";
import type { BusEvent } from "../events/types.ts";
import type { AppEnv } from "./context.ts";

/** One message: `event` is omitted for unnamed messages (htmx swaps those). */
export interface SseFrame {
  event?: string;
  data: string;
  id?: string;
}

/** What the feed does with one bus event. */
export type FeedStep = "ignore" | "update" | { end: SseFrame[] };

export interface LiveFeed {
  /** Which bus events concern this stream (keep it cheap: it runs in publish). */
  accepts(event: BusEvent): boolean;
  /** Frames for the state right now; `end` when the thing already ended (they are all there is). */
  initial(lastEventId: string | null): { frames: SseFrame[]; end: boolean };
  /** Folds one accepted event into the feed's state. */
  apply(event: BusEvent): FeedStep;
  /** The frame for the current state (after "update"; at most once per interval). */
  latest(): SseFrame | null;
}

export interface StreamLimits {
  /** Open streams per user (default 5). */
  perUser?: number;
  /** Minimum ms between two update frames (default 250: about four a second). */
  intervalMs?: number;
  /** Ms between heartbeat comments (default 15 s). */
  heartbeatMs?: number;
}

/** Open streams per user, per bus (one bus per server; tests run several servers in a process). */
const openStreams = new WeakMap<EventBus, Map<string, number>>();

function slots(bus: EventBus): Map<string, number> {
  let m = openStreams.get(bus);
  if (!m) {
    m = new Map();
    openStreams.set(bus, m);
  }
  return m;
}

/** Takes one of the user's stream slots; a function that gives it back (idempotent). 429 when full. */
function takeSlot(bus: EventBus, userId: string, max: number): () => void {
  const m = slots(bus);
  const open = m.get(userId) ?? 0;
  if (open >= max) {
    throw new HTTPException(429, {
      message: `Too many open live views (at most ${max}). Close another tab and try again.`,
    });
  }
  m.set(userId, open + 1);
  let given = false;
  return () => {
    if (given) return;
    given = true;
    const left = (m.get(userId) ?? 1) - 1;
    if (left <= 0) m.delete(userId);
    else m.set(userId, left);
  };
}

/** The Last-Event-ID header (the client's last seen id on a reconnect), or null. */
export function lastEventId(c: Context<AppEnv>): string | null {
  const v = c.req.header("last-event-id");
  return v && v.length <= 100 ? v : null;
}

/**
 * Answers the request with an event stream for `feed`, owned by `userId` (for the cap). Throws a
 * 429 HTTPException (before any byte is sent) when the user has too many streams open.
 */
export function liveStream(c: Context<AppEnv>, userId: string, feed: LiveFeed, limits: StreamLimits = {}) {
  const bus = c.get("services").events;
  const release = takeSlot(bus, userId, limits.perUser ?? 5);
  const sub = bus.subscribe({ filter: (e) => feed.accepts(e), maxQueue: 64 });
  const gone = new AbortController();
  const onRequestAbort = () => gone.abort();
  c.req.raw.signal.addEventListener("abort", onRequestAbort, { once: true });
  const cleanup = () => {
    sub.close();
    release();
    c.req.raw.signal.removeEventListener("abort", onRequestAbort);
  };
  c.header("X-Accel-Buffering", "no");
  return streamSSE(c, async (stream) => {
    stream.onAbort(() => gone.abort());
    try {
      await pump(stream, sub, feed, gone.signal, { ...limits, lastId: lastEventId(c) });
    } finally {
      cleanup();
    }
  });
}

type PumpOptions = StreamLimits & { lastId: string | null };

async function send(stream: SSEStreamingApi, frames: SseFrame[]): Promise<void> {
  for (const f of frames) await stream.writeSSE(f);
}

/** Waits for `p` or `ms`, whichever comes first; the timer never outlives the wait. */
async function raceTimer<T>(p: Promise<T>, ms: number): Promise<{ value: T } | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<null>((r) => {
    timer = setTimeout(() => r(null), Math.max(0, ms));
  });
  try {
    return await Promise.race([p.then((value) => ({ value })), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The stream's loop: initial state, then coalesced updates and heartbeats until the end. */
async function pump(
  stream: SSEStreamingApi,
  sub: Subscription,
  feed: LiveFeed,
  signal: AbortSignal,
  options: PumpOptions,
): Promise<void> {
  const interval = options.intervalMs ?? 250;
  const heartbeat = options.heartbeatMs ?? 15_000;
  const first = feed.initial(options.lastId);
  await send(stream, first.frames);
  if (first.end) return;
  let lastFrame = performance.now();
  let lastWrite = lastFrame;
  let dirty = false;
  let pending: Promise<BusEvent | null> | null = null;
  while (!signal.aborted) {
    const now = performance.now();
    const wait = dirty ? interval - (now - lastFrame) : heartbeat - (now - lastWrite);
    pending ??= sub.next(signal);
    const got = await raceTimer(pending, wait);
    if (got) {
      pending = null;
      if (got.value === null) return; // closed: the client went away or the server stops
      const step = feed.apply(got.value);
      if (typeof step === "object") return send(stream, step.end);
      if (step === "update") dirty = true;
      if (!dirty || performance.now() - lastFrame < interval) continue;
    }
    if (dirty) {
      const frame = feed.latest();
      if (frame) await stream.writeSSE(frame);
      dirty = false;
      lastFrame = lastWrite = performance.now();
    } else if (performance.now() - lastWrite >= heartbeat) {
      await stream.write(": heartbeat\n\n");
      lastWrite = performance.now();
    }
  }
}
