/** Session lifetime, secure cookies and proxies, through app.request() with a manual clock. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ensureSetupToken } from "../../src/auth/accounts.ts";
import { createTestApp } from "../helpers/auth-app.ts";
import { ADMIN, Browser, setupAdmin, startAuthServer } from "../helpers/auth-server.ts";

const DAY = 24 * 3600_000;
let t: ReturnType<typeof createTestApp>;

beforeEach(() => {
  t = createTestApp();
});
afterEach(() => {
  t.close();
});

async function call(url: string, init: RequestInit = {}) {
  return t.app.request(url, init);
}

async function signUp(origin = "http://backapp.test") {
  const res = await call(`${origin}/api/auth/register`, {
    method: "POST",
    headers: { "content-type": "application/json", origin },
    body: JSON.stringify({ ...ADMIN, setupToken: ensureSetupToken(t.services) }),
  });
  expect(res.status).toBe(201);
  return res;
}

function cookieOf(res: Response) {
  return res.headers.getSetCookie()[0]!;
}

describe("session lifetime", () => {
  it("slides: the cookie is re-sent with a fresh 30 days once half is used, and expires when idle", async () => {
    const res = await signUp();
    const cookie = cookieOf(res).split(";")[0]!;
    t.clock.advance(10 * DAY);
    const early = await call("http://backapp.test/api/auth/session", { headers: { cookie } });
    expect(early.status).toBe(200);
    expect(early.headers.getSetCookie()).toEqual([]);
    t.clock.advance(6 * DAY);
    const renewed = await call("http://backapp.test/api/auth/session", { headers: { cookie } });
    expect(renewed.status).toBe(200);
    expect(cookieOf(renewed)).toMatch(new RegExp(`Max-Age=${30 * 24 * 3600}`));
    const body = (await renewed.json()) as { expiresAt: string };
    expect(Date.parse(body.expiresAt)).toBe(t.clock.now() + 30 * DAY);
    t.clock.advance(30 * DAY + 1000);
    const page = await call("http://backapp.test/settings/profile", { headers: { cookie } });
    expect(page.status).toBe(303);
    expect(page.headers.get("location")).toBe("/login?next=%2Fsettings%2Fprofile");
  });

  it("lets a blocked IP try again once the backoff passed", async () => {
    await signUp();
    const login = (password: string) =>
      call("http://backapp.test/api/auth/login", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: ADMIN.email, password }),
      });
    for (let i = 0; i < 10; i++) expect((await login("wrong")).status).toBe(401);
    const blocked = await login(ADMIN.password);
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get("retry-after")).toBe("60");
    t.clock.advance(61_000);
    expect((await login(ADMIN.password)).status).toBe(200);
  });
});

describe("secure cookies", () => {
  it("use the __Host- prefix and Secure over HTTPS, and are read back", async () => {
    const res = await signUp("https://backapp.test");
    const cookie = cookieOf(res);
    expect(cookie).toMatch(/^__Host-backapp_session=[a-z2-7]{32}\.[a-z2-7]{32}; /);
    expect(cookie).toMatch(/; Secure/);
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; SameSite=Lax/);
    expect(cookie).toMatch(/; Path=\//);
    expect(cookie).not.toMatch(/Domain=/);
    const pair = cookie.split(";")[0]!;
    const session = await call("https://backapp.test/api/auth/session", { headers: { cookie: pair } });
    expect(session.status).toBe(200);
    const csrfToken = session.headers.get("x-csrf-token") ?? "";
    expect(csrfToken).toMatch(/^[a-z2-7]{32}$/);
    // Over HTTPS a plain-named cookie (planted over http or by a sibling subdomain) is ignored.
    const tossed = await call("https://backapp.test/api/auth/session", {
      headers: { cookie: `backapp_session=${pair.split("=")[1]}` },
    });
    expect(tossed.status).toBe(401);
    const out = await call("https://backapp.test/api/auth/logout", {
      method: "POST",
      headers: { cookie: pair, origin: "https://backapp.test", "x-csrf-token": csrfToken },
    });
    expect(out.status).toBe(204);
    expect(out.headers.getSetCookie().some((c) => c.startsWith("__Host-backapp_session=;"))).toBe(true);
  });
});

describe("behind a trusted proxy", () => {
  it("believes X-Forwarded-Proto and X-Forwarded-For only from the listed proxy", async () => {
    const s = await startAuthServer({
      trustedProxies: ["127.0.0.1", "10.0.0.0/30"],
      publicUrl: "https://backup.example.test",
    });
    try {
      const admin = await setupAdmin(s);
      const headers = {
        "content-type": "application/json",
        "x-forwarded-proto": "https",
        "x-forwarded-for": "203.0.113.9, 10.0.0.1",
      };
      const res = await fetch(`${s.url}/api/auth/login`, {
        method: "POST",
        headers,
        body: JSON.stringify({ email: ADMIN.email, password: ADMIN.password }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.getSetCookie()[0]).toMatch(/^__Host-backapp_session=.*; Secure/);
      const audit = (await admin.get("/api/audit")).json<{ entries: { action: string; ip: string }[] }>()
        .entries;
      expect(audit.find((e) => e.action === "login.ok")?.ip).toBe("203.0.113.9");
      // The browser's origin is https through the proxy: an http Origin is foreign.
      const b = new Browser(s.url);
      const cross = await b.api(
        "POST",
        "/api/auth/login",
        { email: ADMIN.email, password: ADMIN.password },
        { "x-forwarded-proto": "https" },
      );
      expect(cross.status).toBe(403);
      const same = await b.api(
        "POST",
        "/api/auth/login",
        { email: ADMIN.email, password: ADMIN.password },
        { "x-forwarded-proto": "https", origin: `https://${new URL(s.url).host}` },
      );
      expect(same.status).toBe(200);
      // A proxy that rewrites Host: the configured public URL's origin is ours too.
      const viaPublic = await new Browser(s.url).api(
        "POST",
        "/api/auth/login",
        { email: ADMIN.email, password: ADMIN.password },
        { "x-forwarded-proto": "https", origin: "https://backup.example.test" },
      );
      expect(viaPublic.status).toBe(200);
      // The client's own X-Forwarded-For entries (left of the proxies' hops) are not believed.
      await fetch(`${s.url}/api/auth/login`, {
        method: "POST",
        headers: { ...headers, "x-forwarded-for": "198.51.100.7, 192.0.2.1, 10.0.0.1" },
        body: JSON.stringify({ email: ADMIN.email, password: "wrong password here" }),
      });
      const later = (await admin.get("/api/audit")).json<{ entries: { action: string; ip: string }[] }>()
        .entries;
      expect(later.find((e) => e.action === "login.failed")?.ip).toBe("192.0.2.1");
    } finally {
      await s.stop();
    }
  });
});
