/**
 * Batches of a restore overlap, as restic's restorer keeps its downloaders busy across all packs:
 * the next batch is planned and starts reading once every range of the previous one has started,
 * so readers never idle through a batch's tail (its last ranges, writes and renames). At most
 * MAX_BATCHES run at once, all sharing one set of reader slots, and each judges its files only
 * after the one before it is done (a big file's segments span batches).
 */
import { Limiter } from "../backup/limiter.ts";
import { type BatchOptions, restoreBatch } from "./plan.ts";
import type { FileJob } from "./sink.ts";

const MAX_BATCHES = 2;
/** Range reads in flight; memory is about one blob (~1 MiB, 8 MiB at most) per read. */
export const READERS = 8;

export class BatchQueue {
  /** Batches not done yet, oldest first. */
  private readonly active: Array<Promise<void>> = [];
  /** Settles once every range of the newest batch has started. */
  private reading: Promise<void> = Promise.resolve();
  /** Reader slots shared by the batches. */
  readonly slots: Limiter;

  constructor(readers: number) {
    this.slots = new Limiter(readers);
  }

  /**
   * Starts `jobs` once the previous batch is reading and fewer than MAX_BATCHES run (with no
   * jobs: waits for every batch). Rejects with a batch's failure (cancellation, internal error).
   */
  async start(jobs: FileJob[], options: BatchOptions): Promise<void> {
    await this.reading;
    while (this.active.length >= (jobs.length === 0 ? 1 : MAX_BATCHES)) await this.active.shift();
    if (jobs.length === 0) return;
    let started = () => {};
    this.reading = new Promise<void>((go) => {
      started = go;
    });
    const done = restoreBatch(jobs, {
      ...options,
      slots: this.slots,
      onReading: started,
      after: this.active.at(-1),
    });
    done.catch(() => {}).finally(started);
    this.active.push(done);
  }

  /** Waits for every batch to settle (after a failure), never rejects. */
  async settle(): Promise<void> {
    await Promise.allSettled(this.active);
  }
}
