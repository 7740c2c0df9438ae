/** Forgot/reset password through the real server, with the email received by a real SMTP server. */
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
import { startSmtp } from "../helpers/smtp.ts";

let smtp: Awaited<ReturnType<typeof startSmtp>>;
let server: AuthTestServer;
let admin: Browser;

beforeAll(async () => {
  smtp = await startSmtp({ disabledCommands: ["STARTTLS"] });
  server = await startAuthServer({
    smtp: { host: "127.0.0.1", port: smtp.port, security: "none", from: "backapp@example.com" },
    publicUrl: "http://backup.example.test",
  });
  admin = await setupAdmin(server);
  await addUser(server, admin, ALICE);
});
afterAll(async () => {
  await server.stop();
  await smtp.close();
});

function linkIn(text: string): string {
  const m = /http:\/\/backup\.example\.test(\/reset-password\?token=[^\s]+)/.exec(text);
  if (!m) throw new Error(`no link in ${text}`);
  return m[1]!;
}

describe("password reset by email", () => {
  it("mails a link that works once, ends all sessions, and then refuses reuse", async () => {
    const signedIn = new Browser(server.url);
    await signedIn.login(ALICE.email, ALICE.password);

    const b = new Browser(server.url);
    const form = await b.get("/forgot-password");
    expect(form.text).not.toContain("sends no email");
    const sent = await b.form("/forgot-password", { email: "ALICE@example.com" });
    expect(sent.status).toBe(200);
    expect(sent.text).toContain("If an account exists");
    const [mail] = await smtp.waitFor(1);
    expect(mail!.to).toEqual([ALICE.email]);
    expect(mail!.raw).toMatch(/^Subject: Reset your backapp password/m);
    const path = linkIn(mail!.text);

    const page = await b.get(path);
    expect(page.status).toBe(200);
    expect(page.text).toContain(ALICE.email);
    const token = decodeURIComponent(path.split("token=")[1]!);
    const weak = await b.form("/reset-password", { token, password: "short" });
    expect(weak.status).toBe(400);
    expect(weak.text).toContain("12 characters");
    const done = await b.form("/reset-password", { token, password: "alice's new long secret" });
    expect(done.status).toBe(303);
    expect(done.headers.get("location")).toBe("/login?notice=password-reset");

    expect((await signedIn.get("/api/auth/session")).status).toBe(401);
    await new Browser(server.url).login(ALICE.email, "alice's new long secret");
    const reused = await b.get(path);
    expect(reused.status).toBe(400);
    expect(reused.text).toContain("invalid, used or expired");
    const again = await b.form("/reset-password", { token, password: "a third long secret" });
    expect(again.status).toBe(400);
    const api = await new Browser(server.url).api("POST", "/api/auth/reset-password", {
      token,
      password: "a third long secret",
    });
    expect(api.status).toBe(400);
  });

  it("answers the same for unknown addresses and sends nothing", async () => {
    const before = smtp.messages.length;
    const b = new Browser(server.url);
    const r = await b.form("/forgot-password", { email: "ghost@example.com" });
    expect(r.status).toBe(200);
    expect(r.text).toContain("If an account exists");
    const api = await b.api("POST", "/api/auth/forgot-password", { email: "ghost@example.com" });
    expect(api.status).toBe(202);
    expect(api.json()).toEqual({ ok: true, mailEnabled: true });
    await new Promise((res) => setTimeout(res, 300));
    expect(smtp.messages.length).toBe(before);
    const bad = await b.form("/forgot-password", { email: "not an email" });
    expect(bad.status).toBe(400);
  });

  it("works through the JSON API as well", async () => {
    const before = smtp.messages.length;
    const b = new Browser(server.url);
    expect((await b.api("POST", "/api/auth/forgot-password", { email: ADMIN.email })).status).toBe(202);
    const mails = await smtp.waitFor(before + 1);
    const token = decodeURIComponent(linkIn(mails.at(-1)!.text).split("token=")[1]!);
    expect(
      (await b.api("POST", "/api/auth/reset-password", { token, password: "admin's new long secret" }))
        .status,
    ).toBe(204);
    await new Browser(server.url).login(ADMIN.email, "admin's new long secret");
  });

  it("the SMTP_* environment wins over settings, and the settings page says so", async () => {
    const a = new Browser(server.url);
    await a.login(ADMIN.email, "admin's new long secret");
    expect((await a.get("/api/settings/smtp")).json()).toEqual({ source: "env", settings: null });
    expect((await a.get("/admin/settings")).text).toContain("configured by the server's environment");
  });

  it("a bad link shows an error page", async () => {
    const r = await new Browser(server.url).get("/reset-password?token=nonsense");
    expect(r.status).toBe(400);
    expect(r.text).toContain("Ask for a new link");
  });
});

describe("without SMTP", () => {
  it("tells the visitor to ask an admin, and admins can generate the link", async () => {
    const s = await startAuthServer();
    try {
      const a = await setupAdmin(s);
      const page = await new Browser(s.url).get("/forgot-password");
      expect(page.text).toContain("sends no email");
      const r = await new Browser(s.url).form("/forgot-password", { email: ADMIN.email });
      expect(r.status).toBe(200);
      const api = await new Browser(s.url).api("POST", "/api/auth/forgot-password", { email: ADMIN.email });
      expect(api.json()).toEqual({ ok: true, mailEnabled: false });
      const users = (await a.get("/api/users")).json<{ users: { id: string }[] }>().users;
      const link = (await a.api("POST", `/api/users/${users[0]!.id}/reset-link`)).json<{ url: string }>().url;
      expect(link.startsWith(`${s.url}/reset-password?token=`)).toBe(true);
      const path = link.slice(s.url.length);
      expect((await new Browser(s.url).get(path)).status).toBe(200);
    } finally {
      await s.stop();
    }
  });

  it("logs a failed email send without failing the request", async () => {
    const s = await startAuthServer({
      smtp: { host: "127.0.0.1", port: 1, security: "none", from: "x@example.com" },
    });
    try {
      await setupAdmin(s);
      const r = await new Browser(s.url).form("/forgot-password", { email: ADMIN.email });
      expect(r.status).toBe(200);
      for (let i = 0; i < 50 && !s.logs.some((l) => l.msg === "password reset email failed"); i++) {
        await new Promise((res) => setTimeout(res, 100));
      }
      expect(s.logs.some((l) => l.msg === "password reset email failed")).toBe(true);
    } finally {
      await s.stop();
    }
  });
});
