/**
 * SMTP settings entered by an admin (no SMTP_* environment): stored with the password encrypted,
 * never echoed, used for password reset mail and a test email, admins only.
 */
import { Database } from "bun:sqlite";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
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
let alice: Browser;
const PASSWORD = "smtp-pass-Zq9!";

beforeAll(async () => {
  smtp = await startSmtp({
    disabledCommands: ["STARTTLS"],
    allowInsecureAuth: true,
    onAuth(auth, _session, callback) {
      if (auth.username === "mailer" && auth.password === PASSWORD) callback(null, { user: "mailer" });
      else callback(new Error("bad credentials"));
    },
  });
  server = await startAuthServer();
  admin = await setupAdmin(server);
  alice = await addUser(server, admin, ALICE);
});
afterAll(async () => {
  await server.stop();
  await smtp.close();
});

const settings = () => ({
  host: "127.0.0.1",
  port: smtp.port,
  security: "none",
  user: "mailer",
  password: PASSWORD,
  from: "backapp@example.com",
});

describe("SMTP settings", () => {
  it("start empty; the forgot page says no email is sent", async () => {
    expect((await admin.get("/api/settings/smtp")).json()).toEqual({ source: "none", settings: null });
    expect((await new Browser(server.url).get("/forgot-password")).text).toContain("sends no email");
  });

  it("are validated per field", async () => {
    const r = await admin.api("PUT", "/api/settings/smtp", {
      host: "bad host",
      port: 70000,
      security: "ssl",
      from: "nope",
    });
    expect(r.status).toBe(400);
    expect(Object.keys(r.json<{ error: { fields: object } }>().error.fields).sort()).toEqual([
      "from",
      "host",
      "port",
      "security",
    ]);
    const page = await admin.form("/admin/settings/smtp", {
      host: "",
      port: "x",
      security: "none",
      from: "",
    });
    expect(page.status).toBe(400);
    expect(page.text).toContain("Enter the mail server&#39;s host name.");
  });

  it("save through the API, never echo the password, and store it encrypted", async () => {
    const r = await admin.api("PUT", "/api/settings/smtp", settings());
    expect(r.status).toBe(200);
    expect(r.json()).toEqual({
      source: "settings",
      settings: {
        host: "127.0.0.1",
        port: smtp.port,
        security: "none",
        user: "mailer",
        from: "backapp@example.com",
        passwordSet: true,
      },
    });
    expect(r.text).not.toContain(PASSWORD);
    const page = await admin.get("/admin/settings");
    expect(page.status).toBe(200);
    expect(page.text).not.toContain(PASSWORD);
    expect(page.text).toContain("A password is stored (encrypted)");
    const db = new Database(join(server.dataDir, "backapp.db"), { readonly: true });
    try {
      const row = db.query("SELECT value FROM settings WHERE key = 'notify.smtp'").get() as { value: string };
      expect(row.value).toContain("passwordSealed");
      expect(row.value).not.toContain(PASSWORD);
    } finally {
      db.close();
    }
    const audit = (await admin.get("/api/audit")).text;
    expect(audit).toContain("settings.smtp");
    expect(audit).not.toContain(PASSWORD);
  });

  it("send the password reset mail and a test email (with the stored password)", async () => {
    const before = smtp.messages.length;
    const sent = await new Browser(server.url).form("/forgot-password", { email: ALICE.email });
    expect(sent.status).toBe(200);
    const test = await admin.api("POST", "/api/settings/smtp/test");
    expect(test.status).toBe(204);
    const mails = await smtp.waitFor(before + 2);
    const recent = mails.slice(before);
    expect(recent.map((m) => m.to[0]).sort()).toEqual([ADMIN.email, ALICE.email].sort());
    expect(recent.every((m) => m.user === "mailer")).toBe(true);
    expect(recent.find((m) => m.to[0] === ALICE.email)?.text).toMatch(/\/reset-password\?token=/);
  });

  it("keep the stored password when saved without one (the page form), and report a failing test", async () => {
    const { password: _omit, ...rest } = settings();
    const saved = await admin.form("/admin/settings/smtp", { ...rest, port: String(smtp.port) });
    expect(saved.status).toBe(303);
    const state = (await admin.get("/api/settings/smtp")).json<{ settings: { passwordSet: boolean } }>();
    expect(state.settings.passwordSet).toBe(true);
    const ok = await admin.form("/admin/settings/smtp/test", {});
    expect(ok.status).toBe(200);
    expect(ok.text).toContain(`A test email was sent to ${ADMIN.email}.`);
    await admin.api("PUT", "/api/settings/smtp", { ...settings(), password: "wrong-password" });
    const bad = await admin.api("POST", "/api/settings/smtp/test");
    expect(bad.status).toBe(502);
    expect(bad.text).not.toContain("wrong-password");
    const badPage = await admin.form("/admin/settings/smtp/test", {});
    expect(badPage.status).toBe(502);
    expect(badPage.text).toContain("The test email failed");
  });

  it("whose key file was replaced: the test says why, reset mail is skipped and logged", async () => {
    await admin.api("PUT", "/api/settings/smtp", settings());
    const keyFile = join(server.dataDir, "secret.key");
    const original = readFileSync(keyFile);
    writeFileSync(keyFile, `${randomBytes(32).toString("base64")}\n`);
    try {
      const test = await admin.api("POST", "/api/settings/smtp/test");
      expect(test.status).toBe(502);
      expect(test.json<{ error: { message: string } }>().error.message).toMatch(/cannot be decrypted/);
      const before = smtp.messages.length;
      const forgot = await new Browser(server.url).api("POST", "/api/auth/forgot-password", {
        email: ALICE.email,
      });
      expect(forgot.status).toBe(202);
      expect(forgot.json()).toEqual({ ok: true, mailEnabled: false });
      expect(server.logs.some((l) => l.msg === "stored smtp settings cannot be used")).toBe(true);
      expect(smtp.messages.length).toBe(before);
    } finally {
      writeFileSync(keyFile, original);
    }
  });

  it("are for admins only, and can be removed", async () => {
    for (const path of ["/api/settings/smtp", "/admin/settings"]) {
      expect((await alice.get(path)).status).toBe(404);
    }
    expect((await alice.api("PUT", "/api/settings/smtp", settings())).status).toBe(404);
    expect((await alice.api("POST", "/api/settings/smtp/test")).status).toBe(404);
    const removed = await admin.form("/admin/settings/smtp/remove", {});
    expect(removed.status).toBe(303);
    expect((await admin.get("/api/settings/smtp")).json()).toEqual({ source: "none", settings: null });
    expect((await admin.api("DELETE", "/api/settings/smtp")).status).toBe(204);
    const none = await admin.api("POST", "/api/settings/smtp/test");
    expect(none.status).toBe(502);
    expect(none.json<{ error: { message: string } }>().error.message).toMatch(/No mail server/);
  });
});
