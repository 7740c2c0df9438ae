/**
 * Outside-in checks of the accounts contract through the real server: first-run redirects,
 * hostile input (huge bodies, wrong content types, arrays, NUL bytes, emoji), where API tokens
 * count, invite revocation, allowed-root normalisation and what the audit log records.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ADMIN,
  ALICE,
  type AuthTestServer,
  addUser,
  Browser,
  setupAdmin,
  startAuthServer,
} from "../helpers/auth-server.ts";

let server: AuthTestServer;

beforeAll(async () => {
  server = await startAuthServer();
});
afterAll(async () => {
  await server.stop();
});

type ErrorBody = { error: { status: number; message: string; fields?: Record<string, string> } };

async function raw(path: string, init: RequestInit = {}) {
  const res = await fetch(server.url + path, { redirect: "manual", ...init });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

describe("before the first account", () => {
  it("every page, known or not, leads to /setup; the API answers JSON", async () => {
    for (const path of ["/", "/login", "/register", "/forgot-password", "/reset-password?token=x", "/jobs"]) {
      const r = await raw(path);
      expect(r.status, path).toBe(303);
      expect(r.headers.get("location"), path).toBe("/setup");
    }
    expect((await raw("/setup")).status).toBe(200);
    const api = await raw("/api/auth/session");
    expect(api.status).toBe(401);
    expect(JSON.parse(api.text)).toEqual({ error: { status: 401, message: expect.any(String) } });
    expect((await raw("/api/nothing-here")).status).toBe(404);
  });
});

describe("with accounts", () => {
  let admin: Browser;
  let alice: Browser;
  let aliceId: string;

  beforeAll(async () => {
    admin = await setupAdmin(server);
    alice = await addUser(server, admin, ALICE);
    aliceId = (await alice.get("/api/auth/session")).json<{ user: { id: string } }>().user.id;
  });

  describe("hostile input gets a clean 4xx", () => {
    it("bodies over 1 MiB: 413, on the API and on forms, before any parsing", async () => {
      const huge = JSON.stringify({ email: "x@example.com", password: "p".repeat(2 * 1024 * 1024) });
      const api = await admin.request("POST", "/api/auth/login", {
        headers: { "content-type": "application/json" },
        body: huge,
      });
      expect(api.status).toBe(413);
      expect(api.json<ErrorBody>().error.status).toBe(413);
      const form = await admin.form("/settings/profile", { name: "n".repeat(2 * 1024 * 1024) });
      expect(form.status).toBe(413);
      expect(form.text).toContain("<!doctype html>");
      expect(form.text).not.toMatch(/at \S+\.ts:\d+/);
    });

    it("the JSON API refuses other content types (415) and malformed or non-object JSON (400)", async () => {
      const anon = new Browser(server.url);
      const asForm = await anon.request("POST", "/api/auth/login", {
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "email=a%40example.com&password=x",
      });
      expect(asForm.status).toBe(415);
      const asText = await anon.request("POST", "/api/auth/register", {
        headers: { "content-type": "text/plain" },
        body: JSON.stringify({ email: "a@example.com" }),
      });
      expect(asText.status).toBe(415);
      const bad = await anon.request("POST", "/api/auth/login", {
        headers: { "content-type": "application/json" },
        body: "{not json",
      });
      expect(bad.status).toBe(400);
      for (const body of ["[1,2]", "null", '"text"', "42"]) {
        const r = await anon.request("POST", "/api/auth/login", {
          headers: { "content-type": "application/json; charset=utf-8" },
          body,
        });
        expect(r.status, body).toBe(400);
        expect(r.json<ErrorBody>().error.fields).toBeDefined();
      }
      const missing = await anon.api("POST", "/api/auth/login", {});
      expect(missing.json<ErrorBody>().error.fields).toEqual({
        email: "Enter your email address.",
        password: "Enter your password.",
      });
      const wrongTypes = await anon.api("POST", "/api/auth/login", { email: ["a"], password: { x: 1 } });
      expect(wrongTypes.status).toBe(400);
    });

    it("malformed form bodies answer 400, signed in (CSRF check) or not", async () => {
      const broken = '--xx\r\nContent-Disposition: form-data; name="email"\r\n\r\na\r\n--yy';
      const headers = { "content-type": "multipart/form-data; boundary=xx" };
      const anon = await new Browser(server.url).request("POST", "/login", { headers, body: broken });
      expect(anon.status).toBe(400);
      expect(anon.text).toContain("The form data could not be read.");
      const signedIn = await alice.request("POST", "/settings/profile", { headers, body: broken });
      expect(signedIn.status).toBe(400);
      const bytes = await alice.request("POST", "/settings/tokens", {
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: `_csrf=${alice.csrf}&name=%E0%A4%A`,
      });
      expect(bytes.status).toBeLessThan(500);
    });

    it("NUL bytes and control characters in names are refused; emoji are kept and escaped", async () => {
      for (const name of ["A\u0000B", "line\nbreak", "esc\u001b[31m"]) {
        const r = await alice.api("PATCH", "/api/profile", { name, email: ALICE.email });
        expect(r.status, JSON.stringify(name)).toBe(400);
        expect(r.json<ErrorBody>().error.fields?.name).toBe("Use no control characters.");
      }
      const form = await alice.form("/settings/profile", { name: "x\u0000y", email: ALICE.email });
      expect(form.status).toBe(400);
      expect(form.text).toContain("Use no control characters.");
      const emoji = await alice.api("PATCH", "/api/profile", { name: "Ålice 😀 <b>", email: ALICE.email });
      expect(emoji.status).toBe(200);
      expect(emoji.json()).toMatchObject({ user: { name: "Ålice 😀 <b>" } });
      const page = await alice.get("/settings/profile");
      expect(page.text).toContain("Ålice 😀 &lt;b&gt;");
      expect(page.text).not.toContain("<b>");
      await alice.api("PATCH", "/api/profile", { name: ALICE.name, email: ALICE.email });
      const nulEmail = await new Browser(server.url).api("POST", "/api/auth/login", {
        email: "a\u0000@example.com",
        password: "x",
      });
      expect(nulEmail.status).toBe(401);
      const token = await alice.api("POST", "/api/tokens", { name: "tab\there" });
      expect(token.status).toBe(400);
    });
  });

  describe("API tokens", () => {
    it("authenticate the JSON API only: not pages, not the cookie-setting auth endpoints", async () => {
      const created = await alice.api("POST", "/api/tokens", { name: "script" });
      const { token, id } = created.json<{ token: string; id: string }>();
      const bearer = { authorization: `Bearer ${token}` };
      const session = await raw("/api/auth/session", { headers: bearer });
      expect(session.status).toBe(200);
      expect(JSON.parse(session.text)).toEqual({
        user: { id: aliceId, email: ALICE.email, name: ALICE.name, role: "user" },
        expiresAt: null,
      });
      expect(session.headers.get("set-cookie")).toBeNull();
      expect((await raw("/api/profile", { headers: bearer })).status).toBe(200);
      // Pages ignore the header: anonymous, so off to sign in.
      const page = await raw("/settings/profile", { headers: bearer });
      expect(page.status).toBe(303);
      expect(page.headers.get("location")).toMatch(/^\/login/);
      const pwd = await raw("/settings/password", {
        method: "POST",
        headers: { ...bearer, "content-type": "application/x-www-form-urlencoded" },
        body: "currentPassword=x&newPassword=y",
      });
      expect(pwd.status).toBe(303);
      expect(pwd.headers.get("set-cookie")).toBeNull();
      // Logout with a token is a no-op for the token; it keeps working.
      const out = await raw("/api/auth/logout", { method: "POST", headers: bearer });
      expect(out.status).toBe(204);
      expect((await raw("/api/profile", { headers: bearer })).status).toBe(200);
      expect((await alice.api("DELETE", `/api/tokens/${id}`)).status).toBe(204);
      expect((await raw("/api/profile", { headers: bearer })).status).toBe(401);
    });

    it("list names and times, never secrets or hashes", async () => {
      const created = await alice.api("POST", "/api/tokens", { name: "listed" });
      const { token } = created.json<{ token: string }>();
      const list = await alice.get("/api/tokens");
      expect(list.text).not.toContain(token.slice(-32));
      expect(list.text).not.toMatch(/secret|hash/i);
      const entry = list.json<{ tokens: Record<string, unknown>[] }>().tokens[0];
      expect(Object.keys(entry ?? {}).sort()).toEqual(["createdAt", "id", "lastUsedAt", "name"]);
    });
  });

  describe("sessions", () => {
    it("any sign-in deletes the session the browser came with; ending the current one clears the cookie", async () => {
      const b = new Browser(server.url);
      await b.login(ALICE.email, ALICE.password);
      const oldCookie = b.cookies.get("backapp_session")!;
      expect((await admin.api("PUT", "/api/settings/registration", { open: true })).status).toBe(200);
      const reg = await b.api("POST", "/api/auth/register", {
        email: "carol@example.com",
        name: "Carol",
        password: "carol's long passphrase",
      });
      expect(reg.status).toBe(201);
      await admin.api("PUT", "/api/settings/registration", { open: false });
      const replayed = await raw("/api/auth/session", {
        headers: { cookie: `backapp_session=${oldCookie}` },
      });
      expect(replayed.status).toBe(401);
      expect((await b.get("/api/auth/session")).json()).toMatchObject({
        user: { email: "carol@example.com" },
      });
      b.csrf = reg.json<{ csrfToken: string }>().csrfToken;
      const sessions = (await b.get("/api/sessions")).json<{
        sessions: { id: string; current: boolean }[];
      }>();
      const current = sessions.sessions.find((s) => s.current)!;
      const ended = await b.api("DELETE", `/api/sessions/${current.id}`);
      expect(ended.status).toBe(204);
      expect(ended.headers.getSetCookie().some((c) => /^backapp_session=;.*Max-Age=0/.test(c))).toBe(true);
      expect((await b.get("/api/auth/session")).status).toBe(401);
    });
  });

  describe("invites", () => {
    it("can be revoked in the API and on the admin page; a revoked link no longer registers", async () => {
      const inv = await admin.api("POST", "/api/invites", { role: "user", expiresInHours: 1 });
      const { token } = inv.json<{ token: string }>();
      const id = token.split(".")[0]!;
      expect((await alice.api("DELETE", `/api/invites/${id}`)).status).toBe(404);
      expect((await admin.api("DELETE", `/api/invites/${id}`)).status).toBe(204);
      expect((await admin.api("DELETE", `/api/invites/${id}`)).status).toBe(404);
      const reg = await new Browser(server.url).api("POST", "/api/auth/register", {
        email: "revoked@example.com",
        name: "Revoked",
        password: "revoked long secret",
        invite: token,
      });
      expect(reg.status).toBe(403);
      expect(reg.json<ErrorBody>().error.message).toMatch(/invalid, used or expired/);

      const second = await admin.form("/admin/invites", { role: "user", expiresInHours: "2" });
      expect(second.status).toBe(201);
      const secondId = /invite=([a-z2-7]{32})/.exec(second.text)?.[1];
      expect(second.text).toContain(`action="/admin/invites/${secondId}/revoke"`);
      const revoked = await admin.form(`/admin/invites/${secondId}/revoke`, {});
      expect(revoked.status).toBe(303);
      const page = await admin.get(revoked.headers.get("location")!);
      expect(page.text).toContain("The invite link was revoked.");
      expect(page.text).not.toContain(`/admin/invites/${secondId}/revoke`);
      const audit = (await admin.get("/api/audit")).json<{ entries: { action: string }[] }>().entries;
      expect(audit.filter((e) => e.action === "invite.revoked")).toHaveLength(2);
    });
  });

  describe("allowed roots", () => {
    it("are normalised and deduplicated; relative, '..', NUL and non-lists are refused", async () => {
      expect((await alice.get("/settings/profile")).text).toContain("No folders are allowed for you yet.");
      expect((await admin.get("/settings/profile")).text).toContain("You are an administrator");
      const ok = await admin.api("PATCH", `/api/users/${aliceId}`, {
        allowedRoots: ["/srv//data/", "/srv/data", " /srv/./photos ", "/"],
      });
      expect(ok.status).toBe(200);
      expect(ok.json()).toMatchObject({ user: { allowedRoots: ["/srv/data", "/srv/photos", "/"] } });
      for (const bad of [["srv"], ["/srv/../etc"], ["/srv/a\u0000b"], ["~/x"], [""], "/srv", [42]]) {
        const r = await admin.api("PATCH", `/api/users/${aliceId}`, { allowedRoots: bad });
        expect(r.status, JSON.stringify(bad)).toBe(400);
        expect(r.json<ErrorBody>().error.fields?.allowedRoots).toBeDefined();
      }
      const form = await admin.form(`/admin/users/${aliceId}`, {
        role: "user",
        allowedRoots: "/home/alice/\n/home//alice\n\n/mnt/x/.",
      });
      expect(form.status).toBe(303);
      expect((await alice.get("/api/profile")).json()).toMatchObject({
        allowedRoots: ["/home/alice", "/mnt/x"],
      });
      const refused = await admin.form(`/admin/users/${aliceId}`, { role: "user", allowedRoots: "../etc" });
      expect(refused.status).toBe(400);
      expect(refused.text).toContain("Use absolute paths without");
      // Given at creation too, through the API and the admin page.
      const created = await admin.api("POST", "/api/users", {
        email: "erin@example.com",
        name: "Erin",
        password: "erin's long passphrase",
        allowedRoots: ["/data//erin/"],
      });
      expect(created.json()).toMatchObject({ user: { role: "user", allowedRoots: ["/data/erin"] } });
      const onPage = await admin.form("/admin/users", {
        email: "finn@example.com",
        name: "Finn",
        password: "finn's long passphrase",
        role: "user",
        allowedRoots: "/data/finn/\n",
      });
      expect(onPage.status).toBe(303);
      const badPage = await admin.form("/admin/users", {
        email: "gus@example.com",
        name: "Gus",
        password: "gus's long passphrase",
        role: "user",
        allowedRoots: "data/gus",
      });
      expect(badPage.status).toBe(400);
      expect(badPage.text).toContain("Use absolute paths without");
      expect(badPage.text).toContain(">data/gus</textarea>");
      const users = (await admin.get("/api/users")).json<{
        users: { email: string; allowedRoots: string[] }[];
      }>();
      expect(users.users.find((u) => u.email === "finn@example.com")?.allowedRoots).toEqual(["/data/finn"]);
      expect(users.users.some((u) => u.email === "gus@example.com")).toBe(false);
      const profile = await alice.get("/settings/profile");
      expect(profile.text).toContain("<li><code>/home/alice</code></li>");
      expect(profile.text).toContain("<li><code>/mnt/x</code></li>");
      // Users read their own roots but cannot change them, nor their role (extra fields are dropped).
      const sneaky = await alice.api("PATCH", "/api/profile", {
        name: ALICE.name,
        email: ALICE.email,
        role: "admin",
        allowedRoots: ["/"],
        disabled: false,
      });
      expect(sneaky.status).toBe(200);
      expect((await alice.get("/api/profile")).json()).toMatchObject({
        user: { role: "user" },
        allowedRoots: ["/home/alice", "/mnt/x"],
      });
      expect((await alice.api("PATCH", `/api/users/${aliceId}`, { allowedRoots: ["/"] })).status).toBe(404);
    });
  });

  describe("reset links", () => {
    it("are refused for a disabled account (the link could not work)", async () => {
      const dora = (
        await admin.api("POST", "/api/users", {
          email: "dora@example.com",
          name: "Dora",
          password: "dora's long passphrase",
        })
      ).json<{ user: { id: string } }>().user;
      await admin.api("PATCH", `/api/users/${dora.id}`, { disabled: true });
      const api = await admin.api("POST", `/api/users/${dora.id}/reset-link`);
      expect(api.status).toBe(403);
      expect(api.json<ErrorBody>().error.message).toMatch(/disabled/);
      await admin.get("/admin/users");
      const page = await admin.form(`/admin/users/${dora.id}/reset-link`, {});
      expect(page.status).toBe(403);
      expect(page.text).toContain("enable it before creating a reset link");
    });
  });

  describe("audit log", () => {
    it("records role changes with from and to, and only what changed", async () => {
      await admin.api("PATCH", `/api/users/${aliceId}`, { role: "admin" });
      await admin.api("PATCH", `/api/users/${aliceId}`, { role: "user", disabled: false });
      const entries = (await admin.get("/api/audit")).json<{
        entries: { action: string; actorEmail: string; target: string; ip: string; details: unknown }[];
      }>().entries;
      const roles = entries.filter((e) => e.action === "user.role_changed");
      expect(roles.slice(0, 2).map((e) => e.details)).toEqual([
        { from: "admin", to: "user" },
        { from: "user", to: "admin" },
      ]);
      expect(roles[0]).toMatchObject({ actorEmail: ADMIN.email, target: `user:${aliceId}`, ip: "127.0.0.1" });
      const updated = entries.find((e) => e.action === "user.updated");
      expect(updated?.details).toEqual({ role: { from: "admin", to: "user" } });
    });
  });
});
