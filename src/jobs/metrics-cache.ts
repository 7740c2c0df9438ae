/**
 * Memoised history aggregates for the dashboard and /api/metrics. Totals and daily series over
 * 100,000 runs read every row of the period (tens to hundreds of ms); they only change when a run
 * ends or a job changes, so each answer is kept until the bus says so (run.finished,
 * config.changed) or for at most five minutes (rows written behind the server's back).
 */
import type { EventBus } from "../events/bus.ts";

const TTL_MS = 5 * 60_000;
const MAX_ENTRIES = 500;

export type Memo = <T>(key: string, compute: () => T) => T;

class MetricsCache {
  private version = 0;
  private readonly entries = new Map<string, { version: number; at: number; value: unknown }>();

  constructor(bus: EventBus) {
    const sub = bus.subscribe({ filter: (e) => e.type === "run.finished" || e.type === "config.changed" });
    void (async () => {
      while (await sub.next()) this.version++;
    })();
  }

  memo<T>(key: string, compute: () => T, now: number): T {
    const hit = this.entries.get(key);
    if (hit && hit.version === this.version && now - hit.at < TTL_MS) return hit.value as T;
    const value = compute();
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    this.entries.set(key, { version: this.version, at: now, value });
    return value;
  }
}

const caches = new WeakMap<EventBus, MetricsCache>();

/** The memo of this bus's server, made on first use; `now` from the caller's Clock. */
export function metricsMemo(bus: EventBus, now: number): Memo {
  let cache = caches.get(bus);
  if (!cache) {
    cache = new MetricsCache(bus);
    caches.set(bus, cache);
  }
  const c = cache;
  return (key, compute) => c.memo(key, compute, now);
}

/** No memo: compute every time (tests of the queries, scripts). */
export const direct: Memo = (_key, compute) => compute();
