/**
 * Healthchecks-style pings (healthchecks.io, Uptime Kuma push, Cronitor-compatible): a job's
 * ping URL is called when a run starts (`<url>/start`), succeeds (`<url>`) and fails
 * (`<url>/fail`), any query string kept. A POST whose body is a short summary of the run; the
 * same SSRF guard, timeout and capped read as webhooks; a couple of quick retries, because a
 * missed ping makes the monitor raise a false alarm.
 */
import type { DeliveryAttempt } from "./notifier.ts";
import { type RetryPolicy, realSleep, retryableStatus, WebhookRejectedError, withRetries } from "./retry.ts";
import { safeRequest } from "./safe-http.ts";
import type { Resolver } from "./ssrf.ts";

export type PingState = "start" | "success" | "fail";

/** `https://hc-ping.com/uuid` + "start" → `https://hc-ping.com/uuid/start` (query kept). */
export function pingUrl(base: string, state: PingState): string {
  const url = new URL(base);
  if (state !== "success") url.pathname = `${url.pathname.replace(/\/+$/, "")}/${state}`;
  return url.toString();
}

export interface PingOptions {
  allowPrivate: boolean;
  userAgent: string;
  /** A summary of the run (shown by the monitor); cut to 10 KB. */
  body?: string;
  timeoutMs?: number;
  retry?: RetryPolicy;
  sleep?: (ms: number) => Promise<void>;
  resolve?: Resolver;
  onAttempt?: (attempt: DeliveryAttempt) => void;
}

const PING_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 1_000, maxDelayMs: 5_000 };

/** Pings; resolves once the monitor answered 2xx, rejects with the last error after the retries. */
export async function pingHealthcheck(base: string, state: PingState, options: PingOptions): Promise<void> {
  const url = pingUrl(base, state);
  await withRetries(
    async () => {
      const res = await safeRequest({
        url,
        method: "POST",
        body: (options.body ?? "").slice(0, 10_000),
        headers: { "Content-Type": "text/plain; charset=utf-8", "User-Agent": options.userAgent },
        allowPrivate: options.allowPrivate,
        timeoutMs: options.timeoutMs ?? 10_000,
        maxResponseBytes: 4096,
        ...(options.resolve ? { resolve: options.resolve } : {}),
      });
      if (res.status < 200 || res.status > 299) {
        throw new WebhookRejectedError(res.status, retryableStatus(res.status));
      }
      return res.status;
    },
    options.onAttempt ?? (() => undefined),
    options.retry ?? PING_RETRY,
    options.sleep ?? realSleep,
  );
}
