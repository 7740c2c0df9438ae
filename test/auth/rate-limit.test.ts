import { describe, expect, it } from "vitest";
import { createRateLimiter } from "../../src/auth/rate-limit.ts";
import { createManualClock } from "../../src/util/clock.ts";

describe("rate limiter", () => {
  it("allows `limit` attempts per window, then blocks with a Retry-After in seconds", () => {
    const clock = createManualClock(1_000_000);
    const rl = createRateLimiter(clock, { limit: 10, windowMs: 60_000 });
    for (let i = 0; i < 10; i++) expect(rl.hit("ip:1")).toBe(0);
    expect(rl.retryAfter("ip:1")).toBe(0);
    expect(rl.hit("ip:1")).toBe(60);
    expect(rl.retryAfter("ip:1")).toBe(60);
    clock.advance(59_500);
    expect(rl.retryAfter("ip:1")).toBe(1);
    expect(rl.hit("ip:1")).toBe(1);
    expect(rl.retryAfter("ip:2")).toBe(0);
  });

  it("forgets attempts older than the window", () => {
    const clock = createManualClock(0);
    const rl = createRateLimiter(clock, { limit: 3, windowMs: 1000 });
    rl.hit("k");
    rl.hit("k");
    rl.hit("k");
    clock.advance(1000);
    expect(rl.hit("k")).toBe(0);
    expect(rl.hit("k")).toBe(0);
    expect(rl.hit("k")).toBe(0);
    expect(rl.hit("k")).toBeGreaterThan(0);
  });

  it("doubles the block for repeated offences, up to a cap", () => {
    const clock = createManualClock(0);
    const rl = createRateLimiter(clock, { limit: 1, windowMs: 1000, maxBlockMs: 5000 });
    const offend = () => {
      rl.hit("k");
      return rl.hit("k");
    };
    expect(offend()).toBe(1);
    clock.advance(1000);
    expect(offend()).toBe(2);
    clock.advance(2000);
    expect(offend()).toBe(4);
    clock.advance(4000);
    expect(offend()).toBe(5);
    // A quiet period as long as the cap forgives earlier strikes.
    clock.advance(5000 + 5000);
    expect(offend()).toBe(1);
  });

  it("reset forgets a key", () => {
    const clock = createManualClock(0);
    const rl = createRateLimiter(clock, { limit: 1 });
    rl.hit("k");
    expect(rl.hit("k")).toBeGreaterThan(0);
    rl.reset("k");
    expect(rl.retryAfter("k")).toBe(0);
    expect(rl.hit("k")).toBe(0);
  });

  it("prunes idle keys so memory stays bounded", () => {
    const clock = createManualClock(0);
    const rl = createRateLimiter(clock, { limit: 1, windowMs: 1000, maxBlockMs: 1000, maxKeys: 5 });
    rl.hit("blocked");
    rl.hit("blocked");
    for (let i = 0; i < 10; i++) rl.hit(`k${i}`);
    expect(rl.retryAfter("blocked")).toBe(1);
    clock.advance(2000);
    rl.hit("new");
    // Everything idle was dropped; a dropped key starts afresh.
    expect(rl.hit("k0")).toBe(0);
    expect(rl.retryAfter("blocked")).toBe(0);
  });
});

describe("rate limiter undo", () => {
  it("takes back the latest attempt so successes don't use up the budget", () => {
    const rl = createRateLimiter(createManualClock(0), { limit: 2 });
    for (let i = 0; i < 5; i++) {
      expect(rl.hit("k")).toBe(0);
      rl.undo("k");
    }
    rl.undo("never-seen");
    rl.hit("k");
    rl.hit("k");
    expect(rl.hit("k")).toBeGreaterThan(0);
  });
});
