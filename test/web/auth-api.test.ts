/** Every /api/auth, /api/profile, /api/sessions, /api/tokens and admin API path, through the real server. */
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
let admin: Browser;

beforeAll(async () => {
  server = await startAuthServer();
});
afterAll(async () => {
  await server.stop();
});

describe("first run through the API", () => {
  it("GET /api/auth/session answers 401 before anyone signs in", async () => {
    const r = await new Browser(server.url).get("/api/auth/session");
    expect(r.status).toBe(401);
    expect(r.json()).toEqual({ error: { status: 401, message: expect.any(String) } });
  });

  it("POST /api/auth/register refuses the first account without the right setup token", async () => {
    const b = new Browser(server.url);
    const none = await b.api("POST", "/api/auth/register", ADMIN);
    expect(none.status).toBe(403);
    expect(none.json<{ error: { fields: Record<string, string> } }>().error.fields.setupToken).toMatch(
      /setup token/,
    );
    const wrong = await b.api("POST", "/api/auth/register", { ...ADMIN, setupToken: "x".repeat(32) });
    expect(wrong.status).toBe(403);
    const empty = await b.api("POST", "/api/auth/register", { ...ADMIN, setupToken: "" });
    expect(empty.status).toBe(403);
    expect((await b.get("/api/auth/session")).status).toBe(401);
  });

  it("POST /api/auth/register reports field errors for bad input", async () => {
    const r = await new Browser(server.url).api("POST", "/api/auth/register", {
      email: "no",
      name: "",
      password: "short",
      setupToken: server.setupToken(),
    });
    expect(r.status).toBe(400);
    const fields = r.json<{ error: { fields: Record<string, string> } }>().error.fields;
    expect(Object.keys(fields).sort()).toEqual(["email", "name", "password"]);
    const malformed = await new Browser(server.url).request("POST", "/api/auth/register", {
      headers: { "content-type": "application/json" },
      body: "{",
    });
    expect(malformed.status).toBe(400);
    expect(malformed.text).not.toMatch(/at .*\.ts/);
  });

  it("POST /api/auth/register with the setup token creates the admin (201) and signs in", async () => {
    admin = await setupAdmin(server);
    const r = await admin.get("/api/auth/session");
    expect(r.status).toBe(200);
    const body = r.json<{ user: Record<string, string>; expiresAt: string }>();
    expect(body.user).toEqual({
      id: expect.any(String),
      email: ADMIN.email,
      name: ADMIN.name,
      role: "admin",
    });
    expect(Date.parse(body.expiresAt) - Date.now()).toBeGreaterThan(29 * 24 * 3600_000);
  });

  it("the setup token dies with the first admin; registration is then closed", async () => {
    const r = await new Browser(server.url).api("POST", "/api/auth/register", {
      ...ALICE,
      setupToken: server.setupToken(),
    });
    expect(r.status).toBe(403);
    expect(r.json<{ error: { message: string } }>().error.message).toMatch(/closed/);
  });
});

describe("login, session and logout", () => {
  it("POST /api/auth/login gives a fresh session each time; wrong passwords get 401", async () => {
    const b = new Browser(server.url);
    const bad = await b.api("POST", "/api/auth/login", { email: ADMIN.email, password: "wrong password" });
    expect(bad.status).toBe(401);
    const ghost = await b.api("POST", "/api/auth/login", {
      email: "ghost@example.com",
      password: "wrong password",
    });
    expect(ghost.status).toBe(401);
    expect(ghost.json()).toEqual(bad.json());
    await b.login(ADMIN.email, ADMIN.password);
    const first = [...b.cookies.values()][0];
    await b.login(ADMIN.email, ADMIN.password);
    expect([...b.cookies.values()][0]).not.toBe(first);
    // The replaced session is gone.
    const old = await new Browser(server.url).get("/api/auth/session", {
      cookie: `backapp_session=${first}`,
    });
    expect(old.status).toBe(401);
  });

  it("POST /api/auth/logout ends the session", async () => {
    const b = new Browser(server.url);
    await b.login(ADMIN.email, ADMIN.password);
    const cookie = `backapp_session=${b.cookies.get("backapp_session")}`;
    const r = await b.api("POST", "/api/auth/logout");
    expect(r.status).toBe(204);
    expect(b.cookies.size).toBe(0);
    expect((await new Browser(server.url).get("/api/auth/session", { cookie })).status).toBe(401);
  });

  it("logout without a session is harmless", async () => {
    expect((await new Browser(server.url).api("POST", "/api/auth/logout")).status).toBe(204);
  });
});

describe("profile, sessions and tokens", () => {
  it("GET/PATCH /api/profile and POST /api/profile/password", async () => {
    const b = new Browser(server.url);
    await b.login(ADMIN.email, ADMIN.password);
    const me = await b.get("/api/profile");
    expect(me.json()).toMatchObject({ user: { email: ADMIN.email }, allowedRoots: [] });
    const renamed = await b.api("PATCH", "/api/profile", { name: "Ada Renamed", email: ADMIN.email });
    expect(renamed.status).toBe(200);
    const noReauth = await b.api("PATCH", "/api/profile", { name: "Ada", email: "ada2@example.com" });
    expect(noReauth.status).toBe(400);
    const weak = await b.api("POST", "/api/profile/password", {
      currentPassword: ADMIN.password,
      newPassword: "short",
    });
    expect(weak.status).toBe(400);
    const other = new Browser(server.url);
    await other.login(ADMIN.email, ADMIN.password);
    const changed = await b.api("POST", "/api/profile/password", {
      currentPassword: ADMIN.password,
      newPassword: "temporary long secret",
    });
    expect(changed.status).toBe(204);
    // Every other session ended; this one was signed in again with a fresh token.
    expect((await other.get("/api/auth/session")).status).toBe(401);
    expect((await b.get("/api/auth/session")).status).toBe(200);
    // GET /api/auth/session is exactly {user, expiresAt}; the CSRF token comes as a header.
    const session = await b.get("/api/auth/session");
    expect(Object.keys(session.json()).sort()).toEqual(["expiresAt", "user"]);
    b.csrf = session.headers.get("x-csrf-token");
    const back = await b.api("POST", "/api/profile/password", {
      currentPassword: "temporary long secret",
      newPassword: ADMIN.password,
    });
    expect(back.status).toBe(204);
    await b.api("PATCH", "/api/profile", { name: ADMIN.name, email: ADMIN.email });
  });

  it("GET/DELETE /api/sessions list and end sessions", async () => {
    const a = new Browser(server.url);
    const b = new Browser(server.url);
    await a.login(ADMIN.email, ADMIN.password);
    await b.login(ADMIN.email, ADMIN.password);
    const list = (await a.get("/api/sessions")).json<{ sessions: { id: string; current: boolean }[] }>()
      .sessions;
    expect(list.filter((s) => s.current)).toHaveLength(1);
    const other = list.find((s) => !s.current)!;
    expect((await a.api("DELETE", `/api/sessions/${other.id}`)).status).toBe(204);
    expect((await a.api("DELETE", `/api/sessions/${other.id}`)).status).toBe(404);
    const all = await a.api("DELETE", "/api/sessions");
    expect(all.status).toBe(200);
    expect(all.json<{ ended: number }>().ended).toBeGreaterThanOrEqual(1);
    expect((await a.get("/api/auth/session")).status).toBe(401);
    admin = new Browser(server.url);
    await admin.login(ADMIN.email, ADMIN.password);
  });

  it("POST/GET/DELETE /api/tokens: shown once, works as Bearer, revocable, last use recorded", async () => {
    const created = await admin.api("POST", "/api/tokens", { name: "ci" });
    expect(created.status).toBe(201);
    const { id, token } = created.json<{ id: string; token: string }>();
    expect(token).toMatch(/^bk_[a-z2-7]{32}_[a-z2-7]{32}$/);
    expect(created.headers.get("cache-control")).toBe("no-store");
    const bearer = { authorization: `Bearer ${token}` };
    const who = await fetch(`${server.url}/api/auth/session`, { headers: bearer });
    expect(who.status).toBe(200);
    expect(((await who.json()) as { user: { email: string } }).user.email).toBe(ADMIN.email);
    const listed = (await admin.get("/api/tokens")).json<{ tokens: Record<string, unknown>[] }>().tokens;
    expect(listed).toEqual([
      { id, name: "ci", createdAt: expect.any(String), lastUsedAt: expect.any(String) },
    ]);
    expect(JSON.stringify(listed)).not.toContain(token.slice(-32));
    expect((await admin.api("POST", "/api/tokens", { name: "" })).status).toBe(400);
    expect((await admin.api("DELETE", `/api/tokens/${id}`)).status).toBe(204);
    expect((await fetch(`${server.url}/api/auth/session`, { headers: bearer })).status).toBe(401);
    expect(
      (await fetch(`${server.url}/api/tokens`, { headers: { authorization: "Bearer bk_wrong" } })).status,
    ).toBe(401);
  });

  it("Bearer calls are exempt from CSRF checks", async () => {
    const { token } = (await admin.api("POST", "/api/tokens", { name: "script" })).json<{ token: string }>();
    const r = await fetch(`${server.url}/api/tokens`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${token}`,
        origin: "https://evil.example",
        "content-type": "application/json",
      },
      body: JSON.stringify({ name: "from-script" }),
    });
    expect(r.status).toBe(201);
  });
});

describe("admin API", () => {
  it("users: create, list, get, update roles and roots, refuse self-disable and the last admin", async () => {
    const alice = await addUser(server, admin, ALICE);
    const users = (await admin.get("/api/users")).json<{ users: { id: string; email: string }[] }>().users;
    const a = users.find((u) => u.email === ALICE.email)!;
    const me = users.find((u) => u.email === ADMIN.email)!;
    expect((await admin.get(`/api/users/${a.id}`)).json()).toMatchObject({
      user: { role: "user", disabled: false, allowedRoots: [] },
    });
    expect((await admin.get("/api/users/nope")).status).toBe(404);
    const dup = await admin.api("POST", "/api/users", { ...ALICE, role: "user" });
    expect(dup.status).toBe(409);
    const roots = await admin.api("PATCH", `/api/users/${a.id}`, { allowedRoots: ["/srv/alice"] });
    expect(roots.json()).toMatchObject({ user: { allowedRoots: ["/srv/alice"] } });
    expect((await alice.get("/api/profile")).json()).toMatchObject({ allowedRoots: ["/srv/alice"] });
    expect((await admin.api("PATCH", `/api/users/${a.id}`, { allowedRoots: ["etc"] })).status).toBe(400);
    expect((await admin.api("PATCH", `/api/users/${me.id}`, { disabled: true })).status).toBe(403);
    expect((await admin.api("PATCH", `/api/users/${me.id}`, { role: "user" })).status).toBe(403);
    expect((await admin.api("PATCH", "/api/users/nope", { role: "user" })).status).toBe(404);
  });

  it("invites and registration setting", async () => {
    expect((await admin.get("/api/settings/registration")).json()).toEqual({ open: false });
    const inv = await admin.api("POST", "/api/invites", { role: "user", expiresInHours: 2 });
    expect(inv.status).toBe(201);
    const { token, url } = inv.json<{ token: string; url: string }>();
    expect(url).toBe(`${server.url}/register?invite=${encodeURIComponent(token)}`);
    const b = new Browser(server.url);
    const reg = await b.api("POST", "/api/auth/register", {
      email: "invited@example.com",
      name: "Invited",
      password: "invited long secret",
      invite: token,
    });
    expect(reg.status).toBe(201);
    expect(
      (await admin.get("/api/invites")).json<{ invites: { status: string }[] }>().invites[0]?.status,
    ).toBe("used");
    expect((await admin.api("PUT", "/api/settings/registration", { open: true })).json()).toEqual({
      open: true,
    });
    const open = await new Browser(server.url).api("POST", "/api/auth/register", {
      email: "open@example.com",
      name: "Open",
      password: "open registration secret",
    });
    expect(open.status).toBe(201);
    expect(open.json()).toMatchObject({ user: { role: "user" } });
    await admin.api("PUT", "/api/settings/registration", { open: false });
  });

  it("reset links and the audit log", async () => {
    const users = (await admin.get("/api/users")).json<{ users: { id: string; email: string }[] }>().users;
    const a = users.find((u) => u.email === ALICE.email)!;
    const link = await admin.api("POST", `/api/users/${a.id}/reset-link`);
    expect(link.status).toBe(201);
    expect(link.json<{ url: string }>().url).toMatch(/\/reset-password\?token=/);
    expect((await admin.api("POST", "/api/users/nope/reset-link")).status).toBe(404);
    const audit = (await admin.get("/api/audit?limit=500")).json<{
      entries: { action: string; ip: string; details: unknown }[];
    }>().entries;
    const actions = new Set(audit.map((e) => e.action));
    for (const a of [
      "user.register",
      "login.ok",
      "login.failed",
      "token.created",
      "token.revoked",
      "user.updated",
      "invite.created",
      "settings.registration",
      "password_reset.link_created",
      "user.password_changed",
      "user.created",
    ]) {
      expect(actions).toContain(a);
    }
    expect(audit[0]?.ip).toBe("127.0.0.1");
    expect(JSON.stringify(audit)).not.toContain(ADMIN.password);
    const older = (
      await admin.get(`/api/audit?limit=1&before=${encodeURIComponent(new Date().toISOString())}`)
    ).json<{ entries: unknown[] }>();
    expect(older.entries).toHaveLength(1);
  });

  it("account API paths answer 401 without a session or token", async () => {
    const anon = new Browser(server.url);
    for (const path of ["/api/profile", "/api/sessions", "/api/tokens"]) {
      expect((await anon.get(path)).status, path).toBe(401);
    }
    expect((await anon.api("POST", "/api/tokens", { name: "x" })).status).toBe(401);
  });

  it("non-admins get 404 from admin API paths, anonymous callers 401", async () => {
    const alice = new Browser(server.url);
    await alice.login(ALICE.email, ALICE.password);
    for (const path of ["/api/users", "/api/invites", "/api/settings/registration", "/api/audit"]) {
      expect((await alice.get(path)).status).toBe(404);
      expect((await new Browser(server.url).get(path)).status).toBe(401);
    }
  });
});
