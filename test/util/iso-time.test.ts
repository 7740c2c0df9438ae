import { describe, expect, it } from "vitest";
import { parseIsoTime } from "../../src/util/iso-time.ts";

describe("parseIsoTime", () => {
  it("reads days as UTC midnight and ISO times with or without a zone", () => {
    expect(parseIsoTime("2026-12-01")).toBe(Date.UTC(2026, 11, 1));
    expect(parseIsoTime("2026-12-01T10:20:30Z")).toBe(Date.UTC(2026, 11, 1, 10, 20, 30));
    expect(parseIsoTime("2026-12-01T10:20:30.123+02:00")).toBe(Date.UTC(2026, 11, 1, 8, 20, 30, 123));
  });

  it("refuses what the engine's lenient Date.parse would turn into some date", () => {
    expect(Number.isNaN(Date.parse("a;sleep 60;"))).toBe(false); // why this function exists
    for (const v of ["a;sleep 60;", "x 60", "12/01/2026", "2026-13-45", "2026-12-01 OR 1=1", "", "2026"]) {
      expect(parseIsoTime(v), v).toBeNull();
    }
  });
});
