/**
 * Webhooks against a real loopback receiver (private targets allowed): the signature verified as
 * a receiver would, retries with exponential backoff, the ready-made formats, health-check pings.
 */
import { createHmac } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { pingHealthcheck, pingUrl } from "../../src/notify/healthcheck.ts";
import type { DeliveryAttempt, Notification } from "../../src/notify/notifier.ts";
import { backoffDelay, DEFAULT_RETRY } from "../../src/notify/retry.ts";
import { createWebhookNotifier, verifySignature, type WebhookFormat } from "../../src/notify/webhook.ts";
import { createManualClock } from "../../src/util/clock.ts";
import { Secret } from "../../src/util/secret.ts";
import { receiversPerTest } from "../helpers/webhook-receiver.ts";

const { receiver } = receiversPerTest(afterEach);

const NOW = Date.UTC(2026, 11, 1, 12, 0, 0);
const SECRET = "whsec_test-secret-0123456789";
const notification: Notification = {
  id: "n1",
  event: "failed_run",
  severity: "failure",
  title: "Backup “Home <&>” failed",
  text: "upload pack 3f2a: connection reset @everyone",
  occurredAt: new Date(NOW).toISOString(),
  link: "https://backapp.example/alerts",
  alert: {
    id: "a1",
    type: "failure",
    kind: "failed_run",
    configId: "c1",
    message: "upload pack 3f2a: connection reset",
    timestamp: new Date(NOW).toISOString(),
    lastSeen: null,
    count: 1,
    acknowledged: false,
    resolvedAt: null,
  },
  run: null,
};

function notifier(url: string, format: WebhookFormat = "generic", secret: string | null = SECRET) {
  const sleeps: number[] = [];
  const attempts: DeliveryAttempt[] = [];
  const n = createWebhookNotifier(
    { url: new Secret(url), secret: secret ? new Secret(secret) : null, format },
    {
      clock: createManualClock(NOW),
      allowPrivate: true,
      userAgent: "backapp/test",
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    },
  );
  return { deliver: () => n.deliver(notification, (a) => attempts.push(a)), sleeps, attempts };
}

describe("webhook delivery", () => {
  it("posts the documented JSON payload with a signature a receiver can verify", async () => {
    const r = receiver();
    await notifier(`${r.url}/hook`).deliver();
    const [req] = r.requests;
    expect(req?.headers["content-type"]).toBe("application/json");
    expect(req?.headers["x-backapp-event"]).toBe("failed_run");
    expect(req?.headers["x-backapp-delivery"]).toBe("n1");
    expect(req?.headers["user-agent"]).toBe("backapp/test");
    // What a receiver does, written out without our helper: parse, check the window, recompute.
    const header = req?.headers["x-backapp-signature"] ?? "";
    const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
    expect(match).not.toBeNull();
    const t = Number(match?.[1]);
    expect(Math.abs(NOW / 1000 - t)).toBeLessThanOrEqual(300);
    const expected = createHmac("sha256", SECRET).update(`${t}.${req?.body}`).digest("hex");
    expect(match?.[2]).toBe(expected);
    // …and our reference verifier agrees, and refuses tampering and replays.
    expect(verifySignature(SECRET, header, req?.body ?? "", NOW / 1000)).toBe(true);
    expect(verifySignature(SECRET, header, `${req?.body} `, NOW / 1000)).toBe(false);
    expect(verifySignature("another-secret-value", header, req?.body ?? "", NOW / 1000)).toBe(false);
    expect(verifySignature(SECRET, header, req?.body ?? "", NOW / 1000 + 301)).toBe(false);
    expect(JSON.parse(req?.body ?? "")).toEqual({
      version: 1,
      id: "n1",
      event: "failed_run",
      severity: "failure",
      title: notification.title,
      text: notification.text,
      occurredAt: notification.occurredAt,
      link: notification.link,
      alert: notification.alert,
      run: null,
    });
  });

  it("retries 5xx and 429 with exponential backoff, then succeeds", async () => {
    const r = receiver({ statuses: [503, 429, 200] });
    const n = notifier(r.url);
    await n.deliver();
    expect(r.requests).toHaveLength(3);
    expect(n.sleeps).toEqual([2000, 4000]);
    expect(n.attempts.map((a) => [a.attempt, a.status, a.httpStatus])).toEqual([
      [1, "retrying", 503],
      [2, "retrying", 429],
      [3, "sent", 200],
    ]);
    expect(r.requests.map((q) => q.headers["x-backapp-delivery"])).toEqual(["n1", "n1", "n1"]);
  });

  it("gives up after the last try and reports each one", async () => {
    const r = receiver({ statuses: [500] });
    const n = notifier(r.url);
    await expect(n.deliver()).rejects.toThrow(/HTTP 500/);
    expect(r.requests).toHaveLength(DEFAULT_RETRY.attempts);
    expect(n.attempts.at(-1)).toMatchObject({ status: "failed", attempt: 4, httpStatus: 500 });
    expect(n.sleeps).toEqual([2000, 4000, 8000]);
    expect(backoffDelay(DEFAULT_RETRY, 10)).toBe(60_000);
  });

  it("does not retry a 4xx answer, a redirect or a refused target", async () => {
    const r = receiver({ statuses: [404] });
    const n = notifier(r.url);
    await expect(n.deliver()).rejects.toThrow(/HTTP 404/);
    expect(r.requests).toHaveLength(1);
    const moved = receiver({ statuses: [301], headers: { Location: r.url } });
    await expect(notifier(moved.url).deliver()).rejects.toThrow(/HTTP 301/);
    expect(r.requests).toHaveLength(1);
    const refused = createWebhookNotifier(
      { url: new Secret(`${r.url}/x`), secret: null, format: "generic" },
      { clock: createManualClock(NOW), allowPrivate: false, userAgent: "t", sleep: async () => undefined },
    );
    const attempts: DeliveryAttempt[] = [];
    await expect(refused.deliver(notification, (a) => attempts.push(a))).rejects.toThrow(/loopback/);
    expect(attempts).toEqual([
      { attempt: 1, status: "failed", httpStatus: null, error: expect.stringContaining("127.0.0.1") },
    ]);
    expect(r.requests).toHaveLength(1);
  });

  it("sends Slack-compatible, Discord and ntfy messages", async () => {
    const r = receiver();
    await notifier(`${r.url}/slack`, "slack").deliver();
    await notifier(`${r.url}/discord`, "discord").deliver();
    await notifier(`${r.url}/ntfy-topic`, "ntfy", null).deliver();
    const [slack, discord, ntfy] = r.requests;
    expect(JSON.parse(slack?.body ?? "")).toEqual({
      text: "*Backup “Home &lt;&amp;&gt;” failed*\nupload pack 3f2a: connection reset @everyone\nhttps://backapp.example/alerts",
    });
    const d = JSON.parse(discord?.body ?? "");
    expect(d.allowed_mentions).toEqual({ parse: [] });
    expect(d.embeds[0]).toMatchObject({ title: notification.title, color: 0xd93025, url: notification.link });
    expect(ntfy?.headers["content-type"]).toBe("text/plain; charset=utf-8");
    expect(ntfy?.headers.priority).toBe("high");
    expect(ntfy?.headers.tags).toBe("warning");
    expect(ntfy?.headers.title).toMatch(/^=\?UTF-8\?B\?/);
    expect(ntfy?.body).toContain("upload pack 3f2a");
    expect(ntfy?.headers["x-backapp-signature"]).toBeUndefined();
  });
});

describe("health-check pings", () => {
  it("follow the /start, success, /fail convention", async () => {
    expect(pingUrl("https://hc-ping.com/abc", "start")).toBe("https://hc-ping.com/abc/start");
    expect(pingUrl("https://hc-ping.com/abc/", "fail")).toBe("https://hc-ping.com/abc/fail");
    expect(pingUrl("https://hc-ping.com/abc?rid=1", "success")).toBe("https://hc-ping.com/abc?rid=1");
    const r = receiver({ statuses: [502, 200] });
    const opts = { allowPrivate: true, userAgent: "backapp/test", sleep: async () => undefined };
    await pingHealthcheck(`${r.url}/ping/abc`, "start", opts);
    await pingHealthcheck(`${r.url}/ping/abc`, "fail", { ...opts, body: "2 files unreadable" });
    await pingHealthcheck(`${r.url}/ping/abc`, "success", opts);
    expect(r.requests.map((q) => q.path)).toEqual([
      "/ping/abc/start",
      "/ping/abc/start",
      "/ping/abc/fail",
      "/ping/abc",
    ]);
    expect(r.requests[2]?.body).toBe("2 files unreadable");
    await expect(
      pingHealthcheck(`${r.url}/ping/abc`, "start", { ...opts, allowPrivate: false }),
    ).rejects.toThrow(/loopback/);
  });
});
