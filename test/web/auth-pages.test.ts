/** The HTML pages: setup, login, logout, register, profile, admin users and audit, through the real server. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, ALICE, type AuthTestServer, Browser, startAuthServer } from "../helpers/auth-server.ts";

let server: AuthTestServer;
let admin: Browser;

beforeAll(async () => {
  server = await startAuthServer();
});
afterAll(async () => {
  await server.stop();
});

/** The id of the user card on /admin/users that shows `email`. */
function userId(html: string, email: string): string {
  const card = html.split("<article").find((a) => a.includes(email))!;
  return /id="user-([a-z2-7]+)"/.exec(card)![1]!;
}

const fieldError = (html: string) => /class="field-error">([^<]*)</.exec(html)?.[1];

describe("first run", () => {
  it("every page leads to /setup while no account exists", async () => {
    const b = new Browser(server.url);
    for (const path of ["/", "/settings/profile", "/admin/users", "/login", "/register"]) {
      const r = await b.get(path);
      expect(r.status, path).toBe(303);
      expect(r.headers.get("location"), path).toBe("/setup");
    }
    const setup = await b.get("/setup");
    expect(setup.status).toBe(200);
    expect(setup.text).toContain('name="setupToken"');
  });

  it("refuses a wrong setup token with a field error and keeps the typed name and email", async () => {
    const b = new Browser(server.url);
    const r = await b.form("/setup", { ...ADMIN, setupToken: "wrong" });
    expect(r.status).toBe(403);
    expect(fieldError(r.text)).toMatch(/setup token/);
    expect(r.text).toContain(`value="${ADMIN.email}"`);
    expect(r.text).not.toContain(ADMIN.password);
  });

  it("creates the admin, signs in, and then /setup is closed", async () => {
    admin = new Browser(server.url);
    await admin.get("/setup");
    const r = await admin.form("/setup", { ...ADMIN, setupToken: server.setupToken() });
    expect(r.status).toBe(303);
    expect(r.headers.get("location")).toBe("/?notice=welcome");
    const home = await admin.get("/?notice=welcome");
    expect(home.status).toBe(200);
    expect(home.text).toContain("Welcome to backapp.");
    expect(home.text).toContain(ADMIN.name);
    expect(home.text).toContain('href="/admin/users"');
    expect((await admin.get("/setup")).headers.get("location")).toBe("/login");
    expect((await new Browser(server.url).form("/setup", { ...ADMIN, setupToken: "x" })).status).toBe(303);
  });
});

describe("sign in and out", () => {
  it("sends anonymous visitors to /login with a local next, and back after signing in", async () => {
    const b = new Browser(server.url);
    const r = await b.get("/settings/profile?tab=1");
    expect(r.headers.get("location")).toBe("/login?next=%2Fsettings%2Fprofile%3Ftab%3D1");
    expect((await b.get("/")).headers.get("location")).toBe("/login");
    const page = await b.get("/login?next=%2Fsettings%2Fprofile");
    expect(page.text).toContain('name="next" value="/settings/profile"');
    const ok = await b.form("/login", {
      email: ADMIN.email,
      password: ADMIN.password,
      next: "/settings/profile",
    });
    expect(ok.status).toBe(303);
    expect(ok.headers.get("location")).toBe("/settings/profile");
    expect((await b.get("/login?next=/admin/users")).headers.get("location")).toBe("/admin/users");
  });

  it("never redirects off-site after sign-in", async () => {
    for (const next of [
      "https://evil.example/",
      "//evil.example",
      "/\\evil.example",
      "javascript:alert(1)",
      "/ok\u0000",
    ]) {
      const b = new Browser(server.url);
      const r = await b.form("/login", { email: ADMIN.email, password: ADMIN.password, next });
      expect(r.headers.get("location"), next).toBe("/");
    }
  });

  it("shows one message for wrong passwords and unknown accounts", async () => {
    const b = new Browser(server.url);
    const wrong = await b.form("/login", { email: ADMIN.email, password: "not the password" });
    const ghost = await b.form("/login", { email: "ghost@example.com", password: "not the password" });
    expect(wrong.status).toBe(401);
    expect(ghost.status).toBe(401);
    const msg = (html: string) => /class="form-error"[^>]*>([^<]*)</.exec(html)?.[1];
    expect(msg(wrong.text)).toBe("Email or password is incorrect.");
    expect(msg(ghost.text)).toBe(msg(wrong.text));
    expect(wrong.text).toContain(`value="${ADMIN.email}"`);
    const empty = await b.form("/login", { email: "", password: "" });
    expect(empty.status).toBe(400);
  });

  it("signing out ends the session and shows a notice", async () => {
    const b = new Browser(server.url);
    await b.get("/login");
    await b.form("/login", { email: ADMIN.email, password: ADMIN.password });
    const cookie = `backapp_session=${b.cookies.get("backapp_session")}`;
    await b.get("/");
    const out = await b.form("/logout", {});
    expect(out.headers.get("location")).toBe("/login?notice=signed-out");
    expect((await b.get("/login?notice=signed-out")).text).toContain("You are signed out.");
    expect((await new Browser(server.url).get("/", { cookie })).status).toBe(303);
  });
});

describe("registration pages", () => {
  it("is closed by default, opens by setting, and works by invite", async () => {
    const anon = new Browser(server.url);
    expect((await anon.get("/register")).status).toBe(403);
    expect((await anon.form("/register", ALICE)).status).toBe(403);

    await admin.get("/admin/users");
    const inv = await admin.form("/admin/invites", { role: "user", expiresInHours: "24" });
    expect(inv.status).toBe(201);
    const url = /id="invite-link">([^<]+)</.exec(inv.text)![1]!.replaceAll("&amp;", "&");
    const path = url.slice(server.url.length);
    const page = await anon.get(path);
    expect(page.status).toBe(200);
    const invite = decodeURIComponent(path.split("invite=")[1]!);
    const weak = await anon.form("/register", { ...ALICE, password: "short", invite });
    expect(weak.status).toBe(400);
    expect(fieldError(weak.text)).toMatch(/12 characters/);
    const ok = await anon.form("/register", { ...ALICE, invite });
    expect(ok.status).toBe(303);
    expect((await anon.get("/")).status).toBe(200);
    const reuse = await new Browser(server.url).form("/register", {
      ...ALICE,
      email: "x@example.com",
      invite,
    });
    expect(reuse.status).toBe(403);

    await admin.get("/admin/users");
    expect((await admin.form("/admin/registration", { open: "on" })).headers.get("location")).toBe(
      "/admin/users?notice=registration-saved",
    );
    const openPage = await new Browser(server.url).get("/register");
    expect(openPage.status).toBe(200);
    expect((await new Browser(server.url).get("/login")).text).toContain('href="/register"');
    const taken = await new Browser(server.url).form("/register", ALICE);
    expect(taken.status).toBe(409);
    await admin.get("/admin/users");
    await admin.form("/admin/registration", {});
    expect((await new Browser(server.url).get("/register")).status).toBe(403);
  });
});

describe("profile page", () => {
  it("changes name, refuses an email change without the password, creates and revokes tokens", async () => {
    const b = new Browser(server.url);
    await b.login(ALICE.email, ALICE.password);
    const page = await b.get("/settings/profile");
    expect(page.status).toBe(200);
    expect(page.text).toContain("this session");
    expect(page.headers.get("cache-control")).toBe("no-store");
    const saved = await b.form("/settings/profile", { name: "Alice B", email: ALICE.email });
    expect(saved.headers.get("location")).toBe("/settings/profile?notice=profile-saved");
    const noPw = await b.form("/settings/profile", { name: "Alice B", email: "alice2@example.com" });
    expect(noPw.status).toBe(400);
    const withPw = await b.form("/settings/profile", {
      name: "Alice",
      email: "alice2@example.com",
      currentPassword: ALICE.password,
    });
    expect(withPw.status).toBe(303);
    await b.form("/settings/profile", { name: "Alice", email: ALICE.email, currentPassword: ALICE.password });

    const created = await b.form("/settings/tokens", { name: "laptop" });
    expect(created.status).toBe(201);
    const token = /id="new-token">([^<]+)</.exec(created.text)![1]!;
    expect(token).toMatch(/^bk_/);
    expect((await b.form("/settings/tokens", { name: "" })).status).toBe(400);
    const again = await b.get("/settings/profile");
    expect(again.text).toContain("laptop");
    expect(again.text).not.toContain(token);
    const id = /action="\/settings\/tokens\/([a-z2-7]+)\/revoke"/.exec(again.text)![1]!;
    expect((await b.form(`/settings/tokens/${id}/revoke`, {})).status).toBe(303);
    expect((await b.form(`/settings/tokens/${id}/revoke`, {})).status).toBe(404);
  });

  it("password change: wrong current password refused; success ends other sessions and keeps this one", async () => {
    const b = new Browser(server.url);
    const other = new Browser(server.url);
    await b.login(ALICE.email, ALICE.password);
    await other.login(ALICE.email, ALICE.password);
    await b.get("/settings/profile");
    const wrong = await b.form("/settings/password", {
      currentPassword: "nope nope nope",
      newPassword: "brand new long secret",
    });
    expect(wrong.status).toBe(400);
    const ok = await b.form("/settings/password", {
      currentPassword: ALICE.password,
      newPassword: "brand new long secret",
    });
    expect(ok.headers.get("location")).toBe("/settings/profile?notice=password-changed");
    expect((await other.get("/settings/profile")).status).toBe(303);
    const page = await b.get("/settings/profile?notice=password-changed");
    expect(page.status).toBe(200);
    expect(page.text).toContain("Other sessions were signed out");
    await b.form("/settings/password", {
      currentPassword: "brand new long secret",
      newPassword: ALICE.password,
    });
  });

  it("ends single sessions and signs out everywhere", async () => {
    const b = new Browser(server.url);
    const other = new Browser(server.url);
    await b.login(ALICE.email, ALICE.password);
    await other.login(ALICE.email, ALICE.password);
    const page = await b.get("/settings/profile");
    const id = /action="\/settings\/sessions\/([a-z2-7]+)\/revoke"/.exec(page.text)![1]!;
    expect((await b.form(`/settings/sessions/${id}/revoke`, {})).status).toBe(303);
    expect((await b.form(`/settings/sessions/${id}/revoke`, {})).status).toBe(404);
    await b.get("/settings/profile");
    const all = await b.form("/settings/sessions/revoke-all", {});
    expect(all.headers.get("location")).toBe("/login?notice=signed-out");
    expect((await b.get("/settings/profile")).status).toBe(303);
  });
});

describe("admin pages", () => {
  it("list users, change role, roots and disabled, and generate reset links", async () => {
    const page = await admin.get("/admin/users");
    expect(page.status).toBe(200);
    expect(page.text).toContain(ALICE.email);
    const aliceId = userId(page.text, ALICE.email);
    const saved = await admin.form(`/admin/users/${aliceId}`, {
      role: "user",
      allowedRoots: "/srv/alice\n\n/home/alice\n",
    });
    expect(saved.headers.get("location")).toBe("/admin/users?notice=user-saved");
    expect((await admin.get("/admin/users")).text).toContain("/srv/alice\n/home/alice");
    const bad = await admin.form(`/admin/users/${aliceId}`, { role: "user", allowedRoots: "relative" });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain("absolute paths");
    const link = await admin.form(`/admin/users/${aliceId}/reset-link`, {});
    expect(link.status).toBe(200);
    expect(link.text).toMatch(/id="reset-link">http:\/\/127\.0\.0\.1:\d+\/reset-password\?token=/);
    expect((await admin.form("/admin/users/nope/reset-link", {})).status).toBe(404);
    expect((await admin.form("/admin/users/nope", { role: "user" })).status).toBe(404);
    const adminId = userId(page.text, ADMIN.email);
    const self = await admin.form(`/admin/users/${adminId}`, { role: "admin", disabled: "on" });
    expect(self.status).toBe(403);
  });

  it("create accounts from the admin page, with field errors", async () => {
    await admin.get("/admin/users");
    const bad = await admin.form("/admin/users", { email: "bad", name: "", password: "x", role: "user" });
    expect(bad.status).toBe(400);
    const ok = await admin.form("/admin/users", {
      email: "carol@example.com",
      name: "Carol",
      password: "carol long secret",
      role: "user",
    });
    expect(ok.status).toBe(303);
    const dup = await admin.form("/admin/users", {
      email: "carol@example.com",
      name: "Carol",
      password: "carol long secret",
      role: "user",
    });
    expect(dup.status).toBe(409);
  });

  it("pages never repeat an element id (labels must point at their own input)", async () => {
    for (const path of ["/settings/profile", "/admin/users", "/admin/settings", "/admin/audit", "/"]) {
      const html = (await admin.get(path)).text;
      const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
      expect(ids.length, path).toBe(new Set(ids).size);
    }
    for (const path of ["/login", "/forgot-password", "/register?invite=x"]) {
      const html = (await new Browser(server.url).get(path)).text;
      const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
      expect(ids.length, path).toBe(new Set(ids).size);
    }
  });

  it("show the audit log with who, what and where", async () => {
    const page = await admin.get("/admin/audit");
    expect(page.status).toBe(200);
    expect(page.text).toContain("login.failed");
    expect(page.text).toContain("user.updated");
    expect(page.text).toContain("127.0.0.1");
    expect((await admin.get("/admin/audit?before=1")).text).toContain("Nothing yet.");
  });
});
