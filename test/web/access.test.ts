/**
 * Security properties through the real server: CSRF, cookie flags, 404 on other users' ids,
 * disabled users, rate limiting, escaping of hostile names.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ADMIN,
  ALICE,
  type AuthTestServer,
  addUser,
  BOB,
  Browser,
  setupAdmin,
  startAuthServer,
} from "../helpers/auth-server.ts";

let server: AuthTestServer;
let admin: Browser;
let alice: Browser;
let bob: Browser;

beforeAll(async () => {
  server = await startAuthServer();
  admin = await setupAdmin(server);
  alice = await addUser(server, admin, ALICE);
  bob = await addUser(server, admin, BOB);
});
afterAll(async () => {
  await server.stop();
});

describe("CSRF", () => {
  it("refuses a cookie-authenticated form from a foreign Origin even with the right token", async () => {
    await alice.get("/settings/profile");
    const r = await alice.form("/settings/tokens", { name: "x" }, { origin: "https://evil.example" });
    expect(r.status).toBe(403);
    expect(r.text).toContain("Cross-site request refused.");
    expect(r.text).toContain("<!doctype html>");
  });

  it("refuses cross-site Sec-Fetch-Site without Origin, and a missing or wrong token", async () => {
    await alice.get("/settings/profile");
    const noOrigin = await alice.request("POST", "/settings/tokens", {
      headers: {
        origin: "",
        "content-type": "application/x-www-form-urlencoded",
        "sec-fetch-site": "cross-site",
      },
      body: new URLSearchParams({ _csrf: alice.csrf!, name: "x" }),
    });
    expect(noOrigin.status).toBe(403);
    expect((await alice.form("/settings/tokens", { name: "x", _csrf: "" })).status).toBe(403);
    expect((await alice.form("/settings/tokens", { name: "x", _csrf: "a".repeat(32) })).status).toBe(403);
    const json = await alice.request("POST", "/api/tokens", {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "x" }),
    });
    expect(json.status).toBe(403);
    expect(json.json()).toEqual({ error: { status: 403, message: expect.stringContaining("Reload") } });
  });

  it("accepts the token in the X-CSRF-Token header (htmx) and same-site navigation", async () => {
    const r = await alice.api(
      "POST",
      "/api/tokens",
      { name: "via-header" },
      { "sec-fetch-site": "same-origin" },
    );
    expect(r.status).toBe(201);
  });

  it("refuses sign-in forms posted from another site (login CSRF)", async () => {
    const r = await new Browser(server.url).form(
      "/login",
      { email: ADMIN.email, password: ADMIN.password },
      { origin: "https://evil.example" },
    );
    expect(r.status).toBe(403);
    const api = await new Browser(server.url).api(
      "POST",
      "/api/auth/login",
      { email: ADMIN.email, password: ADMIN.password },
      { origin: "null" },
    );
    expect(api.status).toBe(403);
  });
});

describe("session cookie", () => {
  it("is HttpOnly, SameSite=Lax, Path=/ and not Secure over plain http", async () => {
    const res = await fetch(`${server.url}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: ALICE.email, password: ALICE.password }),
    });
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith("backapp_session="))!;
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; SameSite=Lax/);
    expect(cookie).toMatch(/; Path=\//);
    expect(cookie).toMatch(/; Max-Age=\d{7}/);
    expect(cookie).not.toMatch(/Secure/);
    const value = cookie.split(";")[0]!.split("=")[1]!;
    expect(value).toMatch(/^[a-z2-7]{32}\.[a-z2-7]{32}$/);
  });

  it("ignores X-Forwarded-Proto from a proxy that is not trusted", async () => {
    const res = await fetch(`${server.url}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-proto": "https" },
      body: JSON.stringify({ email: ALICE.email, password: ALICE.password }),
    });
    expect(res.headers.getSetCookie()[0]).toMatch(/^backapp_session=/);
  });
});

describe("another user's ids answer 404", () => {
  it("tokens and sessions of another user, in the API and in pages", async () => {
    const { id: tokenId } = (await alice.api("POST", "/api/tokens", { name: "alice-only" })).json<{
      id: string;
    }>();
    const aliceSessions = (await alice.get("/api/sessions")).json<{ sessions: { id: string }[] }>().sessions;
    const sessionId = aliceSessions[0]!.id;

    expect((await bob.api("DELETE", `/api/tokens/${tokenId}`)).status).toBe(404);
    expect((await bob.api("DELETE", `/api/sessions/${sessionId}`)).status).toBe(404);
    await bob.get("/settings/profile");
    expect((await bob.form(`/settings/tokens/${tokenId}/revoke`, {})).status).toBe(404);
    expect((await bob.form(`/settings/sessions/${sessionId}/revoke`, {})).status).toBe(404);
    const bobTokens = (await bob.get("/api/tokens")).json<{ tokens: { id: string }[] }>().tokens;
    expect(bobTokens.map((t) => t.id)).not.toContain(tokenId);
    const bobPage = await bob.get("/settings/profile");
    expect(bobPage.text).not.toContain(tokenId);
    expect(bobPage.text).not.toContain("alice-only");
    // Alice's token and session still work.
    expect(
      (await alice.get("/api/tokens")).json<{ tokens: { id: string }[] }>().tokens.map((t) => t.id),
    ).toContain(tokenId);
  });

  it("admin pages and admin API answer 404 to users, with the same body as an unknown page", async () => {
    const unknown = await bob.get("/no-such-page");
    for (const path of ["/admin/users", "/admin/audit"]) {
      const r = await bob.get(path);
      expect(r.status).toBe(404);
      expect(r.text.replace(/csrf[^>]*>/gi, "")).toBe(unknown.text.replace(/csrf[^>]*>/gi, ""));
    }
    const users = (await admin.get("/api/users")).json<{ users: { id: string; email: string }[] }>().users;
    const aliceId = users.find((u) => u.email === ALICE.email)!.id;
    expect((await bob.get(`/api/users/${aliceId}`)).status).toBe(404);
    expect((await bob.api("PATCH", `/api/users/${aliceId}`, { role: "admin" })).status).toBe(404);
    await bob.get("/settings/profile");
    expect((await bob.form(`/admin/users/${aliceId}`, { role: "admin" })).status).toBe(404);
  });
});

describe("disabling a user", () => {
  it("ends their sessions and API tokens at once", async () => {
    const carol = { email: "carol@example.com", name: "Carol", password: "carol's long secret" };
    const c = await addUser(server, admin, carol);
    const { token } = (await c.api("POST", "/api/tokens", { name: "t" })).json<{ token: string }>();
    expect((await c.get("/")).status).toBe(200);
    const users = (await admin.get("/api/users")).json<{ users: { id: string; email: string }[] }>().users;
    const id = users.find((u) => u.email === carol.email)!.id;
    expect((await admin.api("PATCH", `/api/users/${id}`, { disabled: true })).status).toBe(200);
    expect((await c.get("/")).status).toBe(303);
    expect((await c.get("/api/auth/session")).status).toBe(401);
    expect(
      (await fetch(`${server.url}/api/auth/session`, { headers: { authorization: `Bearer ${token}` } }))
        .status,
    ).toBe(401);
    const again = await new Browser(server.url).api("POST", "/api/auth/login", {
      email: carol.email,
      password: carol.password,
    });
    expect(again.status).toBe(401);
    expect(again.json<{ error: { message: string } }>().error.message).toMatch(/disabled/);
    await admin.api("PATCH", `/api/users/${id}`, { disabled: false });
    await new Browser(server.url).login(carol.email, carol.password);
  });
});

describe("escaping", () => {
  it("renders hostile names as text in every page that shows them", async () => {
    const payload = `<script>alert(1)</script>"><img src=x onerror=alert(2)>`;
    const x = await addUser(server, admin, {
      email: "xss@example.com",
      name: payload,
      password: "xss long secret!",
    });
    const pages = [await x.get("/"), await x.get("/settings/profile"), await admin.get("/admin/users")];
    await x.api("POST", "/api/tokens", { name: payload });
    pages.push(await x.get("/settings/profile"));
    for (const p of pages) {
      expect(p.status).toBe(200);
      expect(p.text).not.toContain("<script>alert(1)");
      expect(p.text).not.toContain("<img src=x");
      expect(p.text).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    }
    await new Browser(server.url).form("/login", { email: payload, password: "whatever" });
    const audit = await admin.get("/admin/audit");
    expect(audit.text).not.toContain("<script>alert(1)");
  });
});

describe("rate limiting", () => {
  it("answers the 11th fast bad login with 429 and Retry-After, without revealing the account", async () => {
    const s = await startAuthServer();
    try {
      await setupAdmin(s);
      const b = new Browser(s.url);
      const statuses: number[] = [];
      let last: Awaited<ReturnType<Browser["api"]>> | null = null;
      for (let i = 0; i < 11; i++) {
        last = await b.api("POST", "/api/auth/login", {
          email: i % 2 ? "ghost@example.com" : ADMIN.email,
          password: `wrong ${i}`,
        });
        statuses.push(last.status);
      }
      expect(statuses).toEqual([...Array(10).fill(401), 429]);
      expect(Number(last!.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      // Blocked for the right password too, in pages as in the API.
      const page = await b.form("/login", { email: ADMIN.email, password: ADMIN.password });
      expect(page.status).toBe(429);
      expect(page.headers.get("retry-after")).toMatch(/^\d+$/);
      expect(page.text).toContain("Too many attempts");
    } finally {
      await s.stop();
    }
  });
});
