import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assets } from "../../src/generated/embedded.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.stop();
});

describe("foundation routes", () => {
  it("GET /healthz answers ok with the version", async () => {
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; version: string };
    expect(body.status).toBe("ok");
    expect(body.version).toMatch(/^\d+\.\d+\.\d+\+/);
    expect(res.headers.get("cache-control")).toBe("no-store");
  });

  it("serves embedded htmx with a long cache under its content hash", async () => {
    const htmx = assets["htmx.min.js"]!;
    const res = await fetch(`${server.url}/static/${htmx.hash}/htmx.min.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/javascript");
    expect(res.headers.get("cache-control")).toContain("immutable");
    expect((await res.text()).length).toBeGreaterThan(10_000);
  });

  it("answers JSON 404 under /api and an HTML page elsewhere", async () => {
    const api = await fetch(`${server.url}/api/does-not-exist`);
    expect(api.status).toBe(404);
    expect(await api.json()).toEqual({ error: { status: 404, message: expect.any(String) } });
    // While no account exists, unknown pages lead to /setup like every other page.
    const first = await fetch(`${server.url}/does-not-exist`, { redirect: "manual" });
    expect(first.status).toBe(303);
    expect(first.headers.get("location")).toBe("/setup");
    const token = server.logs.find((l) => typeof l.setupToken === "string")?.setupToken;
    const setup = await fetch(`${server.url}/api/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        email: "f@example.com",
        name: "F",
        password: "foundation passphrase",
        setupToken: token,
      }),
    });
    expect(setup.status).toBe(201);
    const page = await fetch(`${server.url}/does-not-exist`);
    expect(page.status).toBe(404);
    const html = await page.text();
    expect(html).toContain("<!doctype html>");
    expect(html).toContain("404");
    expect(html).toMatch(/\/static\/[0-9a-f]{12}\/htmx\.min\.js/);
  });

  it("sends security headers, with a CSP that forbids inline script", async () => {
    const res = await fetch(`${server.url}/healthz`);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("referrer-policy")).toBe("same-origin");
  });

  it("logs each request as a JSON line without query strings", async () => {
    await fetch(`${server.url}/healthz?token=secret-value`);
    const line = server.logs.find((l) => l.msg === "request" && l.path === "/healthz");
    expect(line).toMatchObject({ method: "GET", status: 200 });
    expect(JSON.stringify(server.logs)).not.toContain("secret-value");
  });
});
