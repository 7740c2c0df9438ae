/**
 * Transport through the real server: Strict-Transport-Security only on answers that reached the
 * browser over HTTPS (an https public URL's host, or a trusted proxy's X-Forwarded-Proto), never
 * over plain HTTP and never on the word of an untrusted peer; the other security headers always.
 */
import { afterAll, describe, expect, it } from "vitest";
import { HSTS_VALUE } from "../../../src/web/middleware/transport.ts";
import { type AuthTestServer, startAuthServer } from "../../helpers/auth-server.ts";

const servers: AuthTestServer[] = [];
async function serve(extra: Parameters<typeof startAuthServer>[0] = {}) {
  const s = await startAuthServer(extra);
  servers.push(s);
  return s;
}
afterAll(async () => {
  for (const s of servers) await s.stop();
});

async function hsts(server: AuthTestServer, path: string, headers: Record<string, string> = {}) {
  const res = await fetch(server.url + path, { headers, redirect: "manual" });
  await res.arrayBuffer();
  return res.headers.get("strict-transport-security");
}

const PATHS = ["/healthz", "/login", "/api/auth/session", "/no-such", "/api/no-such"];

describe("Strict-Transport-Security", () => {
  it("is absent over plain HTTP, and an untrusted peer's X-Forwarded-Proto changes nothing", async () => {
    const plain = await serve();
    for (const path of PATHS) {
      expect(await hsts(plain, path), path).toBeNull();
      expect(await hsts(plain, path, { "x-forwarded-proto": "https" }), path).toBeNull();
    }
  });

  it("is sent when a trusted proxy says the request came over HTTPS, on every kind of answer", async () => {
    const proxied = await serve({ trustedProxies: ["127.0.0.1"] });
    for (const path of PATHS) {
      expect(await hsts(proxied, path, { "x-forwarded-proto": "https" }), path).toBe(HSTS_VALUE);
      expect(await hsts(proxied, path, { "x-forwarded-proto": "http" }), path).toBeNull();
      expect(await hsts(proxied, path), path).toBeNull();
    }
    expect(HSTS_VALUE).toBe("max-age=31536000; includeSubDomains");
  });

  it("is sent for requests addressed to an https public URL's host, not to the bare listen address", async () => {
    const published = await serve({ publicUrl: "https://backup.example.com" });
    for (const path of PATHS) {
      expect(await hsts(published, path, { host: "backup.example.com" }), path).toBe(HSTS_VALUE);
      expect(await hsts(published, path), path).toBeNull();
    }
    const httpPublished = await serve({ publicUrl: "http://backup.example.com" });
    expect(await hsts(httpPublished, "/healthz", { host: "backup.example.com" })).toBeNull();
  });
});

describe("the other security headers", () => {
  it("are on every answer, HTTPS or not", async () => {
    const server = await serve({ trustedProxies: ["127.0.0.1"] });
    for (const path of PATHS) {
      for (const headers of [{}, { "x-forwarded-proto": "https" }] as Record<string, string>[]) {
        const res = await fetch(server.url + path, { headers, redirect: "manual" });
        await res.arrayBuffer();
        const csp = res.headers.get("content-security-policy") ?? "";
        expect(csp, path).toContain("default-src 'self'");
        expect(csp, path).toContain("frame-ancestors 'none'");
        expect(csp, path).toContain("object-src 'none'");
        expect(csp, path).not.toMatch(/unsafe-(inline|eval)/);
        expect(res.headers.get("x-content-type-options"), path).toBe("nosniff");
        expect(res.headers.get("referrer-policy"), path).toBe("same-origin");
        expect(res.headers.get("x-frame-options"), path).toBe("DENY");
      }
    }
  });
});
