import { describe, expect, it } from "vitest";
import { CancelledError, NotFoundError, throwIfAborted, wrapError } from "../../src/util/errors.ts";

describe("wrapError", () => {
  it("keeps the kind and prefixes the context", () => {
    const e = wrapError("upload pack 3f2a", new NotFoundError("no such key"));
    expect(e).toBeInstanceOf(NotFoundError);
    expect(e.message).toBe("upload pack 3f2a: no such key");
  });
  it("wraps foreign errors", () => {
    const e = wrapError("x", new TypeError("boom"));
    expect(e.message).toBe("x: boom");
    expect(e.cause).toBeInstanceOf(TypeError);
  });
  it("throwIfAborted throws CancelledError", () => {
    const c = new AbortController();
    expect(() => throwIfAborted(c.signal)).not.toThrow();
    c.abort();
    expect(() => throwIfAborted(c.signal)).toThrow(CancelledError);
  });
});
