/** Unexpected errors become a generic 500 page or JSON, logged but never shown. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestApp } from "../helpers/auth-app.ts";

let t: ReturnType<typeof createTestApp>;
beforeEach(() => {
  t = createTestApp();
  const boom = () => {
    throw new Error("db password is hunter2 at /srv/secret");
  };
  t.app.get("/boom", boom);
  t.app.get("/api/boom", boom);
});
afterEach(() => t.close());

describe("unexpected errors", () => {
  it("show no message, stack or secret on pages and in JSON, and are logged", async () => {
    const page = await t.app.request("http://backapp.test/boom");
    expect(page.status).toBe(500);
    const html = await page.text();
    expect(html).toContain("An unexpected error occurred");
    expect(html).not.toContain("hunter2");
    expect(html).not.toMatch(/\.ts:\d+/);
    const api = await t.app.request("http://backapp.test/api/boom");
    expect(api.status).toBe(500);
    expect(await api.json()).toEqual({
      error: { status: 500, message: "An unexpected error occurred. It has been logged." },
    });
    const logged = t.logs.filter((l) => l.msg === "unhandled error");
    expect(logged).toHaveLength(2);
  });
});

describe("logged errors", () => {
  it("keep a failed query's SQL and cause but not its bound values", async () => {
    const { DrizzleQueryError } = await import("drizzle-orm/errors");
    t.app.get("/api/query-boom", () => {
      throw new DrizzleQueryError(
        "insert into sessions (id, secret_hash) values (?, ?)",
        ["sess-id", "hash-of-a-secret-token"],
        new Error("UNIQUE constraint failed: sessions.id"),
      );
    });
    const res = await t.app.request("http://backapp.test/api/query-boom");
    expect(res.status).toBe(500);
    const logged = t.logs.find((l) => l.msg === "unhandled error");
    const text = JSON.stringify(logged);
    expect(text).toContain("insert into sessions");
    expect(text).toContain("UNIQUE constraint failed: sessions.id");
    expect(text).not.toContain("hash-of-a-secret-token");
  });
});
