/**
 * Webhook delivery: a JSON POST (or a ready-made Slack-compatible, Discord or ntfy message),
 * signed with HMAC-SHA-256 over `timestamp + "." + body`, sent through the SSRF guard, retried
 * with exponential backoff. The payload and the signature scheme are documented in
 * docs/notifications.md; verifySignature() below is the reference a receiver can copy.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { Clock } from "../util/clock.ts";
import type { Secret } from "../util/secret.ts";
import type { Notification, Notifier } from "./notifier.ts";
import {
  DEFAULT_RETRY,
  type RetryPolicy,
  realSleep,
  retryableStatus,
  WebhookRejectedError,
  withRetries,
} from "./retry.ts";
import { type SafeRequest, safeRequest } from "./safe-http.ts";

export const WEBHOOK_FORMATS = ["generic", "slack", "discord", "ntfy"] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

export const SIGNATURE_HEADER = "X-Backapp-Signature";
/** Receivers should refuse a signature whose timestamp is further than this from their clock. */
export const REPLAY_WINDOW_SECONDS = 300;

export interface WebhookDeps {
  clock: Clock;
  /** Waits between tries; tests pass one that returns at once. */
  sleep?: (ms: number) => Promise<void>;
  retry?: RetryPolicy;
  allowPrivate: boolean;
  /** Sent as User-Agent, e.g. "backapp/0.1.0". */
  userAgent: string;
  timeoutMs?: number;
  resolve?: SafeRequest["resolve"];
}

export interface WebhookTarget {
  url: Secret;
  secret: Secret | null;
  format: WebhookFormat;
}

/** `t=<unix seconds>,v1=<hex HMAC-SHA-256(secret, t + "." + body)>`. */
export function signatureHeader(secret: string, unixSeconds: number, body: string): string {
  const mac = createHmac("sha256", secret).update(`${unixSeconds}.${body}`).digest("hex");
  return `t=${unixSeconds},v1=${mac}`;
}

/**
 * What a receiver does: parse the header, refuse a timestamp outside the replay window, recompute
 * the HMAC over the raw body and compare in constant time. True when the delivery is genuine.
 */
export function verifySignature(
  secret: string,
  header: string,
  rawBody: string,
  nowSeconds: number,
  windowSeconds = REPLAY_WINDOW_SECONDS,
): boolean {
  const fields = new Map(header.split(",").map((p) => p.trim().split("=", 2) as [string, string]));
  const t = Number(fields.get("t"));
  const given = Buffer.from(fields.get("v1") ?? "", "hex");
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > windowSeconds) return false;
  const expected = createHmac("sha256", secret).update(`${t}.${rawBody}`).digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The generic JSON payload (version 1; fields are only ever added). */
export function genericPayload(n: Notification) {
  return {
    version: 1,
    id: n.id,
    event: n.event,
    severity: n.severity,
    title: n.title,
    text: n.text,
    occurredAt: n.occurredAt,
    link: n.link,
    alert: n.alert,
    run: n.run,
  };
}

const COLORS = { failure: 0xd93025, warning: 0xf29900, info: 0x1a73e8, success: 0x188038 } as const;

/** Slack (and Mattermost, Rocket.Chat, Google Chat) treat &, < and > as markup. */
const slackEscape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** RFC 2047 for non-ASCII header values (ntfy decodes them). */
function headerValue(value: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: line breaks would end the header
  const v = value.replace(/[\u0000-\u001f\u007f]+/g, " ");
  return /^[\x20-\x7e]*$/.test(v) ? v : `=?UTF-8?B?${Buffer.from(v).toString("base64")}?=`;
}

/** Body and content headers of one notification in one format. */
export function formatBody(
  format: WebhookFormat,
  n: Notification,
): { body: string; headers: Record<string, string> } {
  const json = { "Content-Type": "application/json" };
  const link = n.link ? `\n${n.link}` : "";
  switch (format) {
    case "slack":
      return {
        body: JSON.stringify({ text: `*${slackEscape(n.title)}*\n${slackEscape(n.text)}${link}` }),
        headers: json,
      };
    case "discord":
      return {
        body: JSON.stringify({
          username: "backapp",
          // Names come from users: never let them ping @everyone or a role.
          allowed_mentions: { parse: [] },
          embeds: [
            {
              title: n.title.slice(0, 256),
              description: n.text.slice(0, 4000),
              color: COLORS[n.severity],
              timestamp: n.occurredAt,
              ...(n.link ? { url: n.link } : {}),
            },
          ],
        }),
        headers: json,
      };
    case "ntfy":
      return {
        body: `${n.text}${link}`,
        headers: {
          "Content-Type": "text/plain; charset=utf-8",
          Title: headerValue(n.title),
          Priority: n.severity === "failure" ? "high" : "default",
          Tags:
            n.severity === "success"
              ? "white_check_mark"
              : n.severity === "info"
                ? "information_source"
                : "warning",
          ...(n.link ? { Click: n.link } : {}),
        },
      };
    default:
      return { body: JSON.stringify(genericPayload(n)), headers: json };
  }
}

async function tryOnce(target: WebhookTarget, n: Notification, deps: WebhookDeps): Promise<number> {
  const { body, headers } = formatBody(target.format, n);
  const unix = Math.floor(deps.clock.now() / 1000);
  const signature: Record<string, string> = target.secret
    ? { [SIGNATURE_HEADER]: signatureHeader(target.secret.reveal(), unix, body) }
    : {};
  const res = await safeRequest({
    url: target.url.reveal(),
    method: "POST",
    body,
    headers: {
      ...headers,
      ...signature,
      "User-Agent": deps.userAgent,
      "X-Backapp-Event": n.event,
      "X-Backapp-Delivery": n.id,
    },
    allowPrivate: deps.allowPrivate,
    ...(deps.timeoutMs ? { timeoutMs: deps.timeoutMs } : {}),
    ...(deps.resolve ? { resolve: deps.resolve } : {}),
    maxResponseBytes: 16 * 1024,
  });
  if (res.status < 200 || res.status > 299)
    throw new WebhookRejectedError(res.status, retryableStatus(res.status));
  return res.status;
}

export function createWebhookNotifier(target: WebhookTarget, deps: WebhookDeps): Notifier {
  return {
    deliver: (n, onAttempt) =>
      withRetries(
        () => tryOnce(target, n, deps),
        onAttempt,
        deps.retry ?? DEFAULT_RETRY,
        deps.sleep ?? realSleep,
      ),
  };
}
