/**
 * Exponential backoff for deliveries: a try, then waits of base, 2×base, 4×base… (capped) between
 * further tries. Network failures and 408/425/429/5xx answers are retried; a refused target (SSRF
 * guard) or any other answer ends at once. Each try is reported for the delivery log.
 */
import type { DeliveryAttempt } from "./notifier.ts";
import { TargetRefusedError } from "./ssrf.ts";

export interface RetryPolicy {
  /** Tries in all, the first included (default 4). */
  attempts: number;
  /** Wait before the second try; doubled before each further one (default 2 s). */
  baseDelayMs: number;
  /** Longest wait between tries (default 60 s). */
  maxDelayMs: number;
}
export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 2_000, maxDelayMs: 60_000 };

/** Wait before try `attempt + 1` (attempt counts from 1). */
export function backoffDelay(policy: RetryPolicy, attempt: number): number {
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
}

/** An HTTP answer that is not 2xx; `retryable` for 408/425/429/5xx. */
export class WebhookRejectedError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly retryable: boolean,
  ) {
    super(`answered HTTP ${httpStatus}`);
  }
}

/** The error text for the delivery log; messages of ours never hold the URL (it may carry a token). */
const describeError = (error: unknown): string => (error as Error).message ?? String(error);

/** 408/425/429 and 5xx: the receiver may take it later. */
export const retryableStatus = (s: number) => s === 408 || s === 425 || s === 429 || s >= 500;

export const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Runs `once` up to `policy.attempts` times with exponential backoff, reporting each try. Retries
 * network failures and 408/425/429/5xx answers; a refused target or another answer ends at once.
 */
export async function withRetries(
  once: () => Promise<number | null>,
  onAttempt: (a: DeliveryAttempt) => void,
  policy: RetryPolicy,
  sleep: (ms: number) => Promise<void>,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      const httpStatus = await once();
      onAttempt({ attempt, status: "sent", httpStatus, error: null });
      return;
    } catch (error) {
      const retryable =
        error instanceof WebhookRejectedError ? error.retryable : !(error instanceof TargetRefusedError);
      const last = !retryable || attempt >= policy.attempts;
      const httpStatus = error instanceof WebhookRejectedError ? error.httpStatus : null;
      onAttempt({ attempt, status: last ? "failed" : "retrying", httpStatus, error: describeError(error) });
      if (last) throw error;
      await sleep(backoffDelay(policy, attempt));
    }
  }
}
