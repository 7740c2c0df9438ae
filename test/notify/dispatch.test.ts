/**
 * The dispatcher over a real SQLite database: an event reaches exactly the owner's enabled
 * channels that chose it (a real webhook receiver and a real SMTP server), every try lands in
 * the delivery log, and one failing channel does not hold up another.
 */
import { createHmac, randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { OpenedDatabase } from "../../src/db/client.ts";
import { openDatabase } from "../../src/db/client.ts";
import { listUserDeliveries } from "../../src/db/notifications.ts";
import { insertUser } from "../../src/db/users.ts";
import { type ChannelInput, createChannel, setAllowPrivateTargets } from "../../src/notify/channels.ts";
import { type DispatchDeps, dispatchNotification } from "../../src/notify/dispatch.ts";
import { createSmtpMailer } from "../../src/notify/email.ts";
import type { AlertJson } from "../../src/notify/notifier.ts";
import { createManualClock } from "../../src/util/clock.ts";
import { createLogger } from "../../src/util/logger.ts";
import { startSmtp } from "../helpers/smtp.ts";
import { tempDir } from "../helpers/temp.ts";
import { startReceiver } from "../helpers/webhook-receiver.ts";

const NOW = Date.UTC(2026, 11, 1, 9, 30);
const dir = tempDir();
let opened: OpenedDatabase;
let smtp: Awaited<ReturnType<typeof startSmtp>>;
let deps: DispatchDeps;
const sleeps: number[] = [];
let ann: string;
let ben: string;

const alert = (kind = "failed_run"): AlertJson => ({
  id: "alert-1",
  type: "failure",
  kind,
  configId: "cfg-1",
  message: "upload pack 3f2a: connection reset",
  timestamp: new Date(NOW).toISOString(),
  lastSeen: new Date(NOW).toISOString(),
  count: 2,
  acknowledged: false,
  resolvedAt: null,
});

function channel(userId: string, input: Partial<ChannelInput> & Pick<ChannelInput, "type" | "target">) {
  const full: ChannelInput = {
    name: "c",
    format: "generic",
    events: ["failed_run"],
    enabled: true,
    ...input,
  };
  return createChannel(opened.db, dir.path, userId, full, NOW);
}

beforeAll(async () => {
  opened = openDatabase(dir.path);
  smtp = await startSmtp({ disabledCommands: ["STARTTLS"] });
  const user = (email: string) =>
    insertUser(opened.db, { email, name: email, passwordHash: "x", role: "user" }).id;
  ann = user("ann@example.com");
  ben = user("ben@example.com");
  setAllowPrivateTargets(opened.db, true, NOW);
  const mailer = createSmtpMailer({
    host: "127.0.0.1",
    port: smtp.port,
    security: "none",
    from: "b@example.com",
  });
  deps = {
    db: opened.db,
    dataDir: dir.path,
    clock: createManualClock(NOW),
    logger: createLogger("silent"),
    mailer: () => mailer,
    publicUrl: () => "https://backapp.example/",
    userAgent: "backapp/test",
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  };
});
afterAll(async () => {
  opened.close();
  await smtp.close();
  dir.cleanup();
});
beforeEach(() => {
  sleeps.length = 0;
  opened.sqlite.run("DELETE FROM notification_channels");
});

describe("dispatchNotification", () => {
  it("delivers an alert to the owner's channels that chose it, and to no one else", async () => {
    const hook = startReceiver({ statuses: [503, 200] });
    const other = startReceiver();
    try {
      const { generatedSecret } = channel(ann, { type: "webhook", target: `${hook.url}/h`, name: "Hook" });
      channel(ann, {
        type: "email",
        target: "ann-alerts@example.com",
        events: ["failed_run", "run_succeeded"],
      });
      channel(ann, { type: "webhook", target: `${other.url}/paused`, enabled: false });
      channel(ann, { type: "webhook", target: `${other.url}/checks`, events: ["check_failed"] });
      channel(ben, { type: "webhook", target: `${other.url}/ben` });
      const mailsBefore = smtp.messages.length;

      const outcomes = await dispatchNotification(deps, {
        kind: "alert",
        alert: alert(),
        user: { id: ann },
        config: { id: "cfg-1", name: "Home" },
      });

      expect(outcomes.map((o) => o.status)).toEqual(["sent", "sent"]);
      expect(other.requests).toHaveLength(0);
      expect(hook.requests).toHaveLength(2);
      expect(sleeps).toEqual([2000]);
      const req = hook.requests[1];
      const [, t, v1] = /^t=(\d+),v1=(\w+)$/.exec(req?.headers["x-backapp-signature"] ?? "") ?? [];
      expect(
        createHmac("sha256", generatedSecret as string)
          .update(`${t}.${req?.body}`)
          .digest("hex"),
      ).toBe(v1);
      expect(JSON.parse(req?.body ?? "")).toMatchObject({
        event: "failed_run",
        title: "Backup “Home” failed",
        text: "upload pack 3f2a: connection reset (seen 2 times)",
        link: "https://backapp.example/alerts",
        alert: { id: "alert-1", kind: "failed_run", count: 2 },
      });
      const [mail] = (await smtp.waitFor(mailsBefore + 1)).slice(mailsBefore);
      expect(mail?.to).toEqual(["ann-alerts@example.com"]);
      expect(mail?.raw).toMatch(/^Subject: =\?UTF-8\?[QB]\?/im);
      expect(mail?.text).toContain("https://backapp.example/alerts");
      expect(mail?.html).toContain('<h1 style="font-size: 1.25em">Backup “Home” failed</h1>');

      const log = listUserDeliveries(opened.db, ann);
      expect(log.map((d) => [d.event, d.status, d.attempt, d.httpStatus]).sort()).toEqual(
        [
          ["failed_run", "retrying", 1, 503],
          ["failed_run", "sent", 1, null],
          ["failed_run", "sent", 2, 200],
        ].sort(),
      );
      expect(listUserDeliveries(opened.db, ben)).toEqual([]);
    } finally {
      hook.stop();
      other.stop();
    }
  });

  it("sends successful runs only where chosen, ignores unknown kinds, and isolates a failing channel", async () => {
    const hook = startReceiver();
    const dead = startReceiver();
    dead.stop();
    try {
      channel(ann, { type: "webhook", target: `${hook.url}/ok`, events: ["run_succeeded"] });
      channel(ann, { type: "webhook", target: `${dead.url}/dead`, events: ["run_succeeded"] });
      channel(ann, { type: "webhook", target: `${hook.url}/alerts-only`, events: ["failed_run"] });
      expect(
        await dispatchNotification(deps, { kind: "alert", alert: alert("cosmic_rays"), user: { id: ann } }),
      ).toEqual([]);
      const outcomes = await dispatchNotification(deps, {
        kind: "run_succeeded",
        log: { id: "log-7", configId: "cfg-1", status: "completed", filesProcessed: 12 },
        user: { id: ann },
      });
      expect(outcomes.map((o) => o.status).sort()).toEqual(["failed", "sent"]);
      expect(hook.requests.map((r) => r.path)).toEqual(["/ok"]);
      expect(JSON.parse(hook.requests[0]?.body ?? "")).toMatchObject({
        event: "run_succeeded",
        severity: "success",
        link: "https://backapp.example/backups/log-7",
        run: { id: "log-7", filesProcessed: 12 },
      });
      expect(sleeps).toEqual([2000, 4000, 8000]);
      const failed = listUserDeliveries(opened.db, ann).filter((d) => d.status !== "sent");
      expect(failed.map((d) => d.status)).toEqual(["failed", "retrying", "retrying", "retrying"]);
    } finally {
      hook.stop();
    }
  });

  it("logs a channel whose sealed URL no longer decrypts (the key file was replaced) as failed", async () => {
    const { channel: ch } = channel(ann, { type: "webhook", target: "https://hooks.example/x" });
    const keyFile = join(dir.path, "secret.key");
    const original = readFileSync(keyFile);
    writeFileSync(keyFile, `${randomBytes(32).toString("base64")}\n`);
    try {
      const [outcome] = await dispatchNotification(deps, {
        kind: "alert",
        alert: alert(),
        user: { id: ann },
      });
      expect(outcome).toMatchObject({
        channelId: ch.id,
        status: "failed",
        error: expect.stringMatching(/cannot be decrypted/),
      });
      const rows = listUserDeliveries(opened.db, ann, { channelId: ch.id });
      expect(rows.map((r) => [r.status, r.attempt])).toEqual([["failed", 1]]);
    } finally {
      writeFileSync(keyFile, original);
    }
  });
});
