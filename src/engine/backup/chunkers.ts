/**
 * Chunkers reused across files, so reading allocates nothing per file: a chunker's buffer grows
 * to what the files it served needed and stays. Files larger than BIG_FILE share at most
 * BIG_SLOTS chunkers (their buffers reach the maximum chunk plus one read, ~9 MiB by default);
 * smaller files use the others, whose buffers stay about as small as those files. Memory:
 * BIG_SLOTS × (max chunk + 1 MiB) + readConcurrency × (BIG_FILE + 1 MiB) at most.
 */
import { Chunker } from "../chunk/chunker.ts";
import type { ChunkerParams } from "../types.ts";
import { Limiter } from "./limiter.ts";

export const BIG_FILE = 1024 * 1024;
const BIG_SLOTS = 2;

export interface LeasedChunker {
  chunker: Chunker;
  /** Returns the chunker to the pool; call once, after the last view it gave is used. */
  release(): void;
}

export class ChunkerPool {
  private readonly small: Chunker[] = [];
  private readonly big: Chunker[] = [];
  private readonly bigSlots = new Limiter(BIG_SLOTS);

  constructor(private readonly params: ChunkerParams) {}

  /** A chunker for a file of about `size` bytes (waits for a big slot when it is large). */
  async acquire(size: number): Promise<LeasedChunker> {
    if (size <= BIG_FILE) {
      const chunker = this.small.pop() ?? new Chunker(this.params);
      chunker.clear();
      return { chunker, release: once(() => this.small.push(chunker)) };
    }
    const free = await this.bigSlots.acquire();
    const chunker = this.big.pop() ?? new Chunker(this.params);
    chunker.clear();
    return {
      chunker,
      release: once(() => {
        this.big.push(chunker);
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
