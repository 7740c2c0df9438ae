/**
 * In-memory rate limiter for login, registration and password reset. Each key (an IP or an
 * account) may make `limit` attempts per `windowMs`; the attempt that exceeds it blocks the key
 * for `windowMs`, doubled for each further block within `maxBlockMs` (growing backoff), capped at
 * `maxBlockMs`. State is per process: a restart forgives everyone, which is acceptable for a
 * single-binary server. The clock is injectable so tests need no waiting.
 */
import type { Clock } from "../util/clock.ts";

export interface RateLimiterOptions {
  limit?: number;
  windowMs?: number;
  maxBlockMs?: number;
  /** Prune idle keys when the map grows beyond this many entries (bounded memory). */
  maxKeys?: number;
}

interface Entry {
  hits: number[];
  blockedUntil: number;
  strikes: number;
  lastStrikeAt: number;
}

export interface RateLimiter {
  /** Seconds until `key` may try again (0: it may now). Does not count as an attempt. */
  retryAfter(key: string): number;
  /** Counts one attempt; returns seconds to wait when this attempt went over the limit, else 0. */
  hit(key: string): number;
  /** Forgets a key's attempts (e.g. after a successful login for the account key). */
  reset(key: string): void;
  /** Takes back the latest counted attempt (a login that succeeded); no effect once blocked. */
  undo(key: string): void;
}

export function createRateLimiter(clock: Clock, options: RateLimiterOptions = {}): RateLimiter {
  const limit = options.limit ?? 10;
  const windowMs = options.windowMs ?? 60_000;
  const maxBlockMs = options.maxBlockMs ?? 60 * 60_000;
  const maxKeys = options.maxKeys ?? 10_000;
  const entries = new Map<string, Entry>();

  const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

  function prune(now: number) {
    if (entries.size <= maxKeys) return;
    for (const [key, e] of entries) {
      const idle = e.blockedUntil <= now && e.hits.every((t) => now - t >= windowMs);
      if (idle && now - e.lastStrikeAt >= maxBlockMs) entries.delete(key);
    }
  }

  return {
    retryAfter(key) {
      const e = entries.get(key);
      const now = clock.now();
      return e && e.blockedUntil > now ? seconds(e.blockedUntil - now) : 0;
    },
    hit(key) {
      const now = clock.now();
      prune(now);
      let e = entries.get(key);
      if (!e) {
        e = { hits: [], blockedUntil: 0, strikes: 0, lastStrikeAt: 0 };
        entries.set(key, e);
      }
      if (e.blockedUntil > now) return seconds(e.blockedUntil - now);
      e.hits = e.hits.filter((t) => now - t < windowMs);
      e.hits.push(now);
      if (e.hits.length <= limit) return 0;
      e.strikes = now - e.lastStrikeAt < maxBlockMs ? e.strikes + 1 : 1;
      e.lastStrikeAt = now;
      e.hits = [];
      const block = Math.min(maxBlockMs, windowMs * 2 ** (e.strikes - 1));
      e.blockedUntil = now + block;
      return seconds(block);
    },
    reset(key) {
      entries.delete(key);
    },
    undo(key) {
      entries.get(key)?.hits.pop();
    },
  };
}
