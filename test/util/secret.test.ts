import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { formatBytes, formatDuration } from "../../src/util/bytes.ts";
import { createManualClock, systemClock } from "../../src/util/clock.ts";
import { newId } from "../../src/util/ids.ts";
import { Secret } from "../../src/util/secret.ts";

describe("Secret", () => {
  it("never prints its value", () => {
    const s = new Secret("hunter2-correct-horse");
    expect(String(s)).toBe("[secret]");
    expect(`${s}`).toBe("[secret]");
    expect(JSON.stringify({ s })).toBe('{"s":"[secret]"}');
    expect(inspect(s)).not.toContain("hunter2");
    expect(s.reveal()).toBe("hunter2-correct-horse");
  });
});

describe("util", () => {
  it("formats bytes", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1536)).toBe("1.50 KiB");
    expect(formatBytes(200 * 2 ** 20)).toBe("200.0 MiB");
  });
  it("formats durations", () => {
    expect(formatDuration(5_000)).toBe("5s");
    expect(formatDuration(65_000)).toBe("1m05s");
    expect(formatDuration(3_900_000)).toBe("1h05m");
  });
  it("makes distinct 32-char ids", () => {
    const a = newId();
    expect(a).toMatch(/^[a-z2-7]{32}$/);
    expect(newId()).not.toBe(a);
  });
  it("clocks", () => {
    const c = createManualClock(10);
    c.advance(5);
    expect(c.now()).toBe(15);
    c.set(1);
    expect(c.now()).toBe(1);
    expect(Math.abs(systemClock.now() - Date.now())).toBeLessThan(1000);
  });
});
