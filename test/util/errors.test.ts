import { describe, expect, it } from "vitest";
import {
  CancelledError,
  NotFoundError,
  redactQueryParams,
  throwIfAborted,
  wrapError,
} from "../../src/util/errors.ts";

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

describe("redactQueryParams", () => {
  it("hides the bound values of a failed query, on every line they appear", () => {
    const text =
      "Failed query: select * from users where email = ?\nparams: a@b.c,hash\n  at x\nparams: again";
    expect(redactQueryParams(text)).toBe(
      "Failed query: select * from users where email = ?\nparams: [redacted]\n  at x\nparams: [redacted]",
    );
    expect(redactQueryParams("no params here")).toBe("no params here");
  });
});
