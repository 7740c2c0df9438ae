/**
 * A cap on each user's downloads at once (issue 13: a flood of downloads is capped per user).
 * Every download is a child process with its repository open, so without a cap one user could
 * start hundreds and starve the machine. Over the cap: RateLimitedError (429 with Retry-After).
 */
import { RateLimitedError } from "../auth/errors.ts";

export const DOWNLOADS_PER_USER = 4;
/** What Retry-After says: a guess, downloads end when they end. */
const RETRY_AFTER_S = 10;

export class DownloadSlots {
  private readonly inUse = new Map<string, number>();

  constructor(private readonly perUser: number = DOWNLOADS_PER_USER) {}

  /** Takes one of the user's slots; the returned function gives it back (idempotent). */
  take(userId: string): () => void {
    const used = this.inUse.get(userId) ?? 0;
    if (used >= this.perUser) {
      throw new RateLimitedError(
        RETRY_AFTER_S,
        `You have ${used} downloads running already; wait for one to finish and try again.`,
      );
    }
    this.inUse.set(userId, used + 1);
    let given = false;
    return () => {
      if (given) return;
      given = true;
      const left = (this.inUse.get(userId) ?? 1) - 1;
      if (left > 0) this.inUse.set(userId, left);
      else this.inUse.delete(userId);
    };
  }

  /** Downloads the user has running now. */
  running(userId: string): number {
    return this.inUse.get(userId) ?? 0;
  }
}
