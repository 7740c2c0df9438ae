/**
 * Index files read ahead while the repository's key is derived (scrypt: about half a second of one
 * thread-pool core, during which opening otherwise waits). On S3 each index file is a request, and
 * an unchanged re-backup is mostly waiting for them.
 *
 * Safe because index files are immutable: each is named by the SHA-256 of its stored bytes, and
 * the reader checks that. The read-ahead never decides what exists: the caller lists again after
 * taking its lock (so a prune that finished meanwhile is seen) and takes from here only the names
 * in that fresh listing; what is not here is read then as before. Every read made here is one the
 * caller would have made, and its failure is the caller's failure (take() rejects with it; a
 * failed listing is rethrown by `rethrow`), so a storage fault fails the open as it always did.
 *
 * Memory: at most about `maxBytes` (plus the reads in flight) is held, and each object is handed
 * out once and forgotten.
 */
import type { Backend } from "../../storage/backend.ts";
import { NotFoundError } from "../../util/errors.ts";
import { mapLimit } from "./map-limit.ts";

const READS_IN_FLIGHT = 8;
const DEFAULT_MAX_BYTES = 32 * 1024 * 1024;

export class Prefetch {
  private readonly held = new Map<string, Promise<Uint8Array | null>>();
  /** Names asked for before their read started: the caller reads those itself. */
  private readonly taken = new Set<string>();
  private readonly stopper = new AbortController();
  private bytes = 0;
  private readonly listing: Promise<unknown>;

  constructor(
    private readonly backend: Backend,
    private readonly prefix: string,
    signal?: AbortSignal,
    private readonly maxBytes = DEFAULT_MAX_BYTES,
  ) {
    signal?.addEventListener("abort", () => this.close(), { once: true });
    const names = this.names();
    this.listing = names.then(
      () => null,
      (e: unknown) => e,
    );
    void names.then((list) => this.read(list)).catch(() => {});
  }

  /**
   * The bytes of `name` if they were read ahead (a read still in flight is awaited, not repeated;
   * its failure is thrown here); undefined or null when the caller must read it itself. Each name
   * is handed out once.
   */
  take(name: string): Promise<Uint8Array | null> | undefined {
    const p = this.held.get(name);
    if (p) this.held.delete(name);
    else if (!this.stopper.signal.aborted) this.taken.add(name);
    return p;
  }

  /** Throws what made the read-ahead's own listing fail (the caller's listing would have met it too). */
  async rethrow(): Promise<void> {
    const failure = await this.listing;
    if (failure && !this.stopper.signal.aborted) throw failure;
  }

  /** Stops reading ahead and drops what was not taken. */
  close(): void {
    this.stopper.abort();
    this.held.clear();
    this.taken.clear();
  }

  private async names(): Promise<string[]> {
    const out: string[] = [];
    for await (const o of this.backend.list(this.prefix, { signal: this.stopper.signal })) out.push(o.name);
    return out;
  }

  private async read(names: string[]): Promise<void> {
    const signal = this.stopper.signal;
    await mapLimit(names, READS_IN_FLIGHT, async (name) => {
      if (signal.aborted || this.bytes >= this.maxBytes || this.taken.has(name)) return;
      const read = this.backend.get(name, { signal }).then(
        (b) => {
          this.bytes += b.byteLength;
          return b;
        },
        (e: unknown) => {
          // Gone since it was listed: the caller's own listing decides, and reads it if listed.
          if (e instanceof NotFoundError) return null;
          throw e;
        },
      );
      // Handled here so a failure nobody takes is not an unhandled rejection; take() still sees it.
      read.catch(() => {});
      this.held.set(name, read);
      await read.catch(() => {});
    });
  }
}

/** Bytes read ahead for `name`, else read now. */
export async function readAheadOr(
  backend: Backend,
  name: string,
  prefetch: Prefetch | undefined,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  return (await prefetch?.take(name)) ?? (await backend.get(name, { signal }));
}
