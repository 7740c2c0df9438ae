/**
 * A backup's walk, started before the repository is open. Opening derives the key (scrypt, about
 * half a second of one core, on the thread pool), loads the index and picks the parent snapshot:
 * meanwhile the walk lists and stats the source, up to a bounded number of entries, and the
 * backup then starts from what is ready. A re-backup is mostly that walk, so this takes up to the
 * key derivation's time off it. Memory: at most MAX_AHEAD entries (about 1 KiB each) wait, and
 * RUNNING_AHEAD once the backup runs.
 */
import type { WalkEntry } from "../scan/walk.ts";

/** Entries held before the backup takes them; the walk pauses there. */
const MAX_AHEAD = 16_384;
/**
 * Once the backup takes entries, the walk only has to stay ahead of it, not cover the opening:
 * 16,384 entries held all along kept ~270,000 BigInts (each entry's BigIntStats) alive.
 */
export const RUNNING_AHEAD = 1024;

export interface WalkAhead {
  /** The walk's batches, those already made first. Call once. */
  batches(): AsyncGenerator<WalkEntry[]>;
  /** Stops the walk (a backup that never started, or ended); idempotent. */
  stop(): void;
}

/** Pumps `source` into a bounded queue from now on. `stop` aborts `controller` and drops what waits. */
export function walkAhead(source: AsyncGenerator<WalkEntry[]>, controller: AbortController): WalkAhead {
  const queue: WalkEntry[][] = [];
  let held = 0;
  let max = MAX_AHEAD;
  let done = false;
  let failure: unknown = null;
  let wake: (() => void) | null = null;
  let room: (() => void) | null = null;
  const signal = () => {
    wake?.();
    wake = null;
  };
  const pump = async () => {
    try {
      for await (const batch of source) {
        queue.push(batch);
        held += batch.length;
        signal();
        while (held >= max && !controller.signal.aborted) await new Promise<void>((r) => (room = r));
      }
    } catch (e) {
      failure = e;
    } finally {
      done = true;
      signal();
    }
  };
  void pump();
  return {
    async *batches() {
      max = RUNNING_AHEAD;
      while (true) {
        const batch = queue.shift();
        if (batch) {
          held -= batch.length;
          room?.();
          room = null;
          yield batch;
          continue;
        }
        if (done) break;
        await new Promise<void>((r) => (wake = r));
      }
      if (failure) throw failure;
    },
    stop() {
      controller.abort();
      queue.length = 0;
      room?.();
      room = null;
    },
  };
}
