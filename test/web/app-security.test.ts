/**
 * What the CSP promises must hold in the pages themselves: no inline script, style or event
 * handler anywhere; security headers on every kind of response; request logs with no secrets.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assets } from "../../src/generated/embedded.ts";
import {
  ALICE,
  type AuthTestServer,
  addUser,
  type Browser,
  setupAdmin,
  startAuthServer,
} from "../helpers/auth-server.ts";

let server: AuthTestServer;
let admin: Browser;
beforeAll(async () => {
  server = await startAuthServer();
});
afterAll(async () => {
  await server.stop();
});

/** Everything a CSP of script-src/style-src 'self' (no 'unsafe-inline', no 'unsafe-eval') blocks. */
function inlineCode(html: string): string[] {
  const found: string[] = [];
  for (const m of html.matchAll(/<script\b[^>]*>/gi)) if (!/\ssrc=/.test(m[0])) found.push(m[0]);
  for (const m of html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/gi)) if (m[1]?.trim()) found.push(m[0]);
  for (const m of html.matchAll(/<style\b/gi)) found.push(m[0]);
  for (const m of html.matchAll(/\s(style|on[a-z]+|hx-on[:\w-]*)\s*=/gi)) found.push(m[0].trim());
  for (const m of html.matchAll(/(href|src|action)\s*=\s*["']?\s*javascript:/gi)) found.push(m[0]);
  return found;
}

function expectSecurityHeaders(headers: Headers, what: string) {
  const csp = headers.get("content-security-policy") ?? "";
  expect(csp, what).toContain("default-src 'self'");
  expect(csp, what).toContain("script-src 'self'");
  expect(csp, what).toContain("style-src 'self'");
  expect(csp, what).toContain("frame-ancestors 'none'");
  expect(csp, what).not.toMatch(/unsafe-(inline|eval)/);
  expect(headers.get("x-content-type-options"), what).toBe("nosniff");
  expect(headers.get("x-frame-options"), what).toBe("DENY");
  expect(headers.get("referrer-policy"), what).toBe("same-origin");
}

describe("pages under the CSP", () => {
  it("has no inline script, style or handler on any page, signed out or in", async () => {
    const anonymous = [
      "/setup",
      "/login",
      "/register",
      "/forgot-password",
      "/reset-password?token=x",
      "/no-such",
    ];
    const pages: [string, string][] = [];
    for (const path of anonymous) {
      const res = await fetch(`${server.url}${path}`);
      pages.push([path, await res.text()]);
    }
    admin = await setupAdmin(server);
    await addUser(server, admin, ALICE);
    for (const path of ["/", "/settings/profile", "/admin/users", "/admin/audit", "/no-such"]) {
      const res = await admin.get(path);
      expect(res.status, path).toBeLessThan(500);
      pages.push([`${path} (admin)`, res.text]);
    }
    for (const [path, html] of pages) {
      expect(html, path).toContain("<!doctype html>");
      expect(inlineCode(html), path).toEqual([]);
      // Everything the page loads comes from this server's /static, under a content hash.
      for (const m of html.matchAll(/(?:src|href)="([^"]+\.(?:js|css|svg))"/g)) {
        expect(m[1], path).toMatch(/^\/static\/[0-9a-f]{12}\/[\w.-]+$/);
      }
    }
  });

  it("the checker itself finds what the CSP would block", () => {
    expect(inlineCode('<script>alert(1)</script><div style="x" onclick="y" hx-on:click="z">')).toHaveLength(
      5,
    );
    expect(inlineCode('<a href="javascript:void(0)">')).toHaveLength(1);
    expect(inlineCode('<script src="/static/a/b.js" defer></script>')).toEqual([]);
  });
});

describe("security headers on every response", () => {
  it("covers pages, JSON, errors, redirects, HEAD, 304s and static files", async () => {
    const css = `/static/${assets["app.css"]!.hash}/app.css`;
    const cases: [string, RequestInit?][] = [
      ["/healthz"],
      ["/healthz", { method: "HEAD" }],
      ["/login"],
      ["/"],
      ["/no-such"],
      ["/api/no-such"],
      ["/api/auth/session"],
      [css],
      [css, { method: "HEAD" }],
      [css, { headers: { "If-None-Match": `"${assets["app.css"]!.hash}"` } }],
      ["/static/0/nope.js"],
      ["/api/auth/login", { method: "POST", body: "{", headers: { "content-type": "application/json" } }],
    ];
    for (const [path, init] of cases) {
      const res = await fetch(`${server.url}${path}`, { redirect: "manual", ...init });
      expectSecurityHeaders(res.headers, `${init?.method ?? "GET"} ${path} → ${res.status}`);
      await res.arrayBuffer();
    }
  });

  it("answers /api/* errors in JSON and other errors in HTML", async () => {
    const api = await fetch(`${server.url}/api/no-such`);
    expect(api.headers.get("content-type")).toContain("application/json");
    expect(await api.json()).toEqual({ error: { status: 404, message: expect.any(String) } });
    const page = await fetch(`${server.url}/no-such`);
    expect(page.headers.get("content-type")).toContain("text/html");
  });
});

describe("request logs", () => {
  it("are JSON lines with method, path, status and time, and carry no secrets", async () => {
    const secrets = ["sekrit-query-token", "sekrit-cookie", "sekrit-bearer", "sekrit-reset"];
    await fetch(`${server.url}/healthz?token=${secrets[0]}`, {
      headers: { cookie: `__Host-session=${secrets[1]}`, authorization: `Bearer ${secrets[2]}` },
    });
    await fetch(`${server.url}/reset-password?token=${secrets[3]}`);
    await fetch(`${server.url}/api/auth/session`, { headers: { authorization: `Bearer ${secrets[2]}` } });
    const requests = server.logs.filter((l) => l.msg === "request");
    expect(requests.find((l) => l.path === "/healthz")).toMatchObject({
      method: "GET",
      status: 200,
      ms: expect.any(Number),
      reqId: expect.any(String),
    });
    expect(requests.some((l) => l.path === "/reset-password")).toBe(true);
    const everything = JSON.stringify(server.logs);
    for (const s of secrets) expect(everything).not.toContain(s);
  });
});
