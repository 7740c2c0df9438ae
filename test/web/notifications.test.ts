/**
 * Notification channels through the real server: API and page, ownership (another user's id is
 * 404), secrets never echoed and sealed at rest, the SSRF guard switched by the admin setting,
 * signed test deliveries to a real loopback receiver and test emails to a real SMTP server.
 */
import { Database } from "bun:sqlite";
import { createHmac } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ALICE,
  type AuthTestServer,
  addUser,
  BOB,
  Browser,
  setupAdmin,
  startAuthServer,
} from "../helpers/auth-server.ts";
import { startSmtp } from "../helpers/smtp.ts";
import { startReceiver } from "../helpers/webhook-receiver.ts";

let server: AuthTestServer;
let smtp: Awaited<ReturnType<typeof startSmtp>>;
let receiver: ReturnType<typeof startReceiver>;
let admin: Browser;
let alice: Browser;
let bob: Browser;

beforeAll(async () => {
  smtp = await startSmtp({ disabledCommands: ["STARTTLS"] });
  receiver = startReceiver();
  server = await startAuthServer();
  admin = await setupAdmin(server);
  alice = await addUser(server, admin, ALICE);
  bob = await addUser(server, admin, BOB);
  const mail = { host: "127.0.0.1", port: smtp.port, security: "none", from: "backapp@example.com" };
  expect((await admin.api("PUT", "/api/settings/smtp", mail)).status).toBe(200);
});
afterAll(async () => {
  await server.stop();
  await smtp.close();
  receiver.stop();
});

interface Channel {
  id: string;
  target: string;
  secretSet: boolean;
  events: string[];
}
const TOKEN_PATH = "/services/T000/B000/very-secret-token";

async function createWebhook(who: Browser, extra: Record<string, unknown> = {}) {
  const r = await who.api("POST", "/api/notifications/channels", {
    type: "webhook",
    name: "Team chat",
    target: `${receiver.url}${TOKEN_PATH}`,
    events: ["failed_run", "check_failed"],
    ...extra,
  });
  expect(r.status).toBe(201);
  return r.json<{ channel: Channel; secret?: string }>();
}

describe("notification channels", () => {
  it("create a webhook: the URL shows as its origin, the generated secret once, both sealed at rest", async () => {
    const { channel, secret } = await createWebhook(alice);
    expect(channel).toMatchObject({ target: `${receiver.url}/…`, secretSet: true, format: "generic" });
    expect(secret).toMatch(/^whsec_/);
    const listed = await alice.get("/api/notifications/channels");
    expect(listed.text).not.toContain("very-secret-token");
    expect(listed.text).not.toContain(secret);
    const one = await alice.get(`/api/notifications/channels/${channel.id}`);
    expect(one.json<Channel>().events).toEqual(["failed_run", "check_failed"]);
    const page = await alice.get("/settings/notifications");
    expect(page.status).toBe(200);
    expect(page.text).toContain("Team chat");
    expect(page.text).not.toContain("very-secret-token");
    const db = new Database(join(server.dataDir, "backapp.db"), { readonly: true });
    try {
      const row = db
        .query("SELECT target, secret_enc FROM notification_channels WHERE id = ?")
        .get(channel.id) as {
        target: string;
        secret_enc: string;
      };
      expect(row.target).toMatch(/^v1:/);
      expect(row.target).not.toContain("very-secret-token");
      expect(row.secret_enc).not.toContain(secret as string);
    } finally {
      db.close();
    }
  });

  it("validate input with per-field errors", async () => {
    const bad = await alice.api("POST", "/api/notifications/channels", {
      type: "pager",
      name: "",
      events: ["everything"],
    });
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.json<{ error: { fields: object } }>().error.fields).sort()).toEqual([
      "events",
      "name",
      "type",
    ]);
    for (const target of ["ftp://example.com/x", "http://user:pw@example.com/", "not a url"]) {
      const r = await alice.api("POST", "/api/notifications/channels", {
        type: "webhook",
        name: "x",
        target,
      });
      expect(r.status).toBe(400);
      expect(r.json<{ error: { fields: { target: string } } }>().error.fields.target).toMatch(/http/);
    }
    const email = await alice.api("POST", "/api/notifications/channels", {
      type: "email",
      name: "x",
      target: "nope",
    });
    expect(email.json<{ error: { fields: object } }>().error.fields).toEqual({
      target: "Enter an email address.",
    });
    const page = await alice.form("/settings/notifications", { type: "email", name: "", target: "x" });
    expect(page.status).toBe(400);
    expect(page.text).toContain("Enter a name.");
  });

  it("refuse a loopback webhook until an admin allows private targets; then deliver signed", async () => {
    const { channel, secret } = await createWebhook(alice, { name: "Loopback" });
    const refused = await alice.api("POST", `/api/notifications/channels/${channel.id}/test`);
    expect(refused.status).toBe(502);
    expect(refused.json<{ error: { message: string } }>().error.message).toMatch(
      /127\.0\.0\.1 is a loopback/,
    );
    expect(refused.text).not.toContain("very-secret-token");
    const before = receiver.requests.length;

    expect(
      (await alice.api("PUT", "/api/settings/notifications", { allowPrivateTargets: true })).status,
    ).toBe(404);
    const set = await admin.api("PUT", "/api/settings/notifications", { allowPrivateTargets: true });
    expect(set.json()).toEqual({ allowPrivateTargets: true });
    const ok = await alice.api("POST", `/api/notifications/channels/${channel.id}/test`);
    expect(ok.status).toBe(200);
    expect(ok.json()).toMatchObject({ status: "sent", channelId: channel.id });
    const req = receiver.requests[before];
    expect(req?.path).toBe(TOKEN_PATH);
    const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(req?.headers["x-backapp-signature"] ?? "") ?? [];
    expect(Math.abs(Date.now() / 1000 - Number(t))).toBeLessThan(300);
    expect(
      createHmac("sha256", secret as string)
        .update(`${t}.${req?.body}`)
        .digest("hex"),
    ).toBe(v1);
    expect(JSON.parse(req?.body ?? "{}")).toMatchObject({ version: 1, event: "test", severity: "info" });

    const log = await alice.get(`/api/notifications/deliveries?channelId=${channel.id}`);
    const items = log.json<{ items: { status: string; error: string | null; event: string }[] }>().items;
    expect(items.map((d) => [d.event, d.status])).toEqual([
      ["test", "sent"],
      ["test", "failed"],
    ]);
    expect(items[1]?.error).toMatch(/loopback/);
    await admin.api("PUT", "/api/settings/notifications", { allowPrivateTargets: false });
  });

  it("send a test email to an email channel, as HTML with a plain-text part", async () => {
    const r = await alice.api("POST", "/api/notifications/channels", {
      type: "email",
      name: "Inbox",
      target: "alice-alerts@example.com",
      events: ["failed_run"],
    });
    const { channel } = r.json<{ channel: Channel }>();
    expect(r.json<{ secret?: string }>().secret).toBeUndefined();
    const before = smtp.messages.length;
    const test = await alice.form(`/settings/notifications/${channel.id}/test`, {}, { "HX-Request": "true" });
    expect(test.status).toBe(200);
    expect(test.text).toContain("A test notification was sent to “Inbox”.");
    const [mail] = (await smtp.waitFor(before + 1)).slice(before);
    expect(mail?.to).toEqual(["alice-alerts@example.com"]);
    expect(mail?.text).toContain("This channel works");
    expect(mail?.html).toContain("<p>This channel works");
  });

  it("are the owner's only: another user's ids answer 404 everywhere", async () => {
    const { channel } = await createWebhook(alice, { name: "Private" });
    const id = channel.id;
    expect((await bob.get(`/api/notifications/channels/${id}`)).status).toBe(404);
    expect(
      (await bob.api("PUT", `/api/notifications/channels/${id}`, { type: "webhook", name: "mine" })).status,
    ).toBe(404);
    expect((await bob.api("DELETE", `/api/notifications/channels/${id}`)).status).toBe(404);
    expect((await bob.api("POST", `/api/notifications/channels/${id}/test`)).status).toBe(404);
    expect((await bob.get(`/settings/notifications/${id}`)).status).toBe(404);
    expect((await bob.form(`/settings/notifications/${id}/remove`, {})).status).toBe(404);
    expect((await bob.get("/api/notifications/channels")).json()).toEqual({ items: [] });
    expect((await bob.get(`/api/notifications/deliveries?channelId=${id}`)).json()).toEqual({ items: [] });
    expect((await new Browser(server.url).get("/api/notifications/channels")).status).toBe(401);
    expect((await new Browser(server.url).get("/settings/notifications")).status).toBe(303);
    expect((await alice.get(`/api/notifications/channels/${id}`)).status).toBe(200);
  });

  it("edit through the page keeping the stored URL and secret, and remove", async () => {
    const { channel } = await createWebhook(alice, { name: "Editable" });
    const edit = await alice.get(`/settings/notifications/${channel.id}`);
    expect(edit.text).toContain("Edit “Editable”");
    const saved = await alice.form(`/settings/notifications/${channel.id}`, {
      name: "Renamed",
      target: "",
      format: "slack",
      secret: "",
      "event-run_succeeded": "on",
    });
    expect(saved.status).toBe(303);
    const now = (await alice.get(`/api/notifications/channels/${channel.id}`)).json<
      Channel & { name: string }
    >();
    expect(now).toMatchObject({
      name: "Renamed",
      format: "slack",
      events: ["run_succeeded"],
      enabled: false,
      secretSet: true,
    });
    expect(now.target).toBe(`${receiver.url}/…`);
    expect((await alice.form(`/settings/notifications/${channel.id}/remove`, {})).status).toBe(303);
    expect((await alice.get(`/api/notifications/channels/${channel.id}`)).status).toBe(404);
  });

  it("rate-limit the test button per user", async () => {
    const { channel } = await createWebhook(bob, { name: "Spam?" });
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      statuses.push((await bob.api("POST", `/api/notifications/channels/${channel.id}/test`)).status);
    }
    // Ten tries a minute (Bob's 404 above counted too), then 429 with a growing block.
    expect(new Set(statuses.slice(0, 9))).toEqual(new Set([502]));
    expect(statuses.slice(-2)).toEqual([429, 429]);
  });
});
