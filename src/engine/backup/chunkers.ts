/**
 * Chunkers reused across files, so reading allocates nothing per file: a small file's chunker's
 * buffer grows to what the files it served needed and stays. Files larger than BIG_FILE take one
 * of BIG_SLOTS chunkers whose buffer is the maximum chunk plus one read (~9 MiB by default),
 * allocated whole, handed from one big file to the next and freed when no big file waits for it
 * (it held ~9 MiB each through the rest of the backup). Memory: BIG_SLOTS × (max chunk + 1 MiB)
 * while big files are read, plus readConcurrency × (BIG_FILE + 1 MiB) at most.
 */
import { Chunker } from "../chunk/chunker.ts";
import type { ChunkerParams } from "../types.ts";
import { Limiter } from "./limiter.ts";

export const BIG_FILE = 1024 * 1024;
/**
 * One big file read at a time: the main thread chunks and hashes every byte anyway, so a second
 * one (a second ~9 MiB buffer) measured no faster, and ~25 MiB higher at peak (bench/RESULTS.md,
 * "Session 7").
 */
const BIG_SLOTS = 1;

export interface LeasedChunker {
  chunker: Chunker;
  /** Returns the chunker to the pool; call once, after the last view it gave is used. */
  release(): void;
}

export class ChunkerPool {
  private readonly small: Chunker[] = [];
  private readonly big: Chunker[] = [];
  private readonly bigSlots = new Limiter(BIG_SLOTS);
  /** Big files waiting for a slot: a released big chunker goes to them, or is freed. */
  private bigWaiting = 0;

  constructor(private readonly params: ChunkerParams) {}

  /** A chunker for a file of about `size` bytes (waits for a big slot when it is large). */
  async acquire(size: number): Promise<LeasedChunker> {
    if (size <= BIG_FILE) {
      const chunker = this.small.pop() ?? new Chunker(this.params);
      chunker.clear();
      return { chunker, release: once(() => this.small.push(chunker)) };
    }
    this.bigWaiting++;
    const free = await this.bigSlots.acquire().finally(() => this.bigWaiting--);
    const chunker = this.big.pop() ?? new Chunker(this.params, true);
    chunker.clear();
    return {
      chunker,
      release: once(() => {
        if (this.bigWaiting > 0) this.big.push(chunker);
        else chunker.dispose();
        free();
      }),
    };
  }
}

function once(f: () => void): () => void {
  let done = false;
  return () => {
    if (!done) f();
    done = true;
  };
}
