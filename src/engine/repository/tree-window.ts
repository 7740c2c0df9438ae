/**
 * Tree blobs read a window at a time. Walking a snapshot (restore, the parent of a backup, ls,
 * diff) loads every directory's tree, one small read each: on S3 a GET per directory, a thousand
 * GETs for a thousand directories. Trees sit together in tree-only packs, in the order a backup
 * wrote them, so a miss reads the trees of the same pack around the wanted one in one range and
 * keeps the others' stored (still sealed) bytes for a while. Every tree is still opened and checked
 * (authentication, id) when it is used; the cache only saves downloads. Bounded by bytes; each
 * kept tree is handed out once (a walk rarely needs a tree twice).
 */
import { throwIfAborted } from "../../util/errors.ts";
import type { BlobId } from "../types.ts";
import type { BlobIndex, IndexEntry } from "./blob-index.ts";

export interface TreeWindowSource {
  readonly index: BlobIndex;
  /** Stored bytes [offset, offset+length) of a pack (storage errors as Backend.get). */
  readRange(pack: string, offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array>;
}

export interface TreeWindowOptions {
  /** Bytes read around a missed tree (half before, half after). */
  window: number;
  /** Stored bytes kept. */
  maxBytes: number;
}

export const DEFAULT_TREE_WINDOW: TreeWindowOptions = { window: 2 * 1024 * 1024, maxBytes: 16 * 1024 * 1024 };

export class TreeWindow {
  private readonly kept = new Map<BlobId, Uint8Array>();
  private keptBytes = 0;
  /** Trees whose window is being read: wait for it rather than read again. */
  private readonly reading = new Map<BlobId, Promise<void>>();

  constructor(
    private readonly src: TreeWindowSource,
    private readonly opts: TreeWindowOptions = DEFAULT_TREE_WINDOW,
  ) {}

  /** Stored bytes of tree entry `e` (unchecked: the caller opens and verifies them). */
  async stored(e: IndexEntry, signal?: AbortSignal): Promise<Uint8Array> {
    const pending = this.reading.get(e.id);
    if (pending) await pending.catch(() => {});
    throwIfAborted(signal);
    const hit = this.take(e.id);
    if (hit) return hit;
    return this.readWindow(e, signal);
  }

  private take(id: BlobId): Uint8Array | undefined {
    const b = this.kept.get(id);
    if (!b) return undefined;
    this.kept.delete(id);
    this.keptBytes -= b.byteLength;
    return b;
  }

  private keep(id: BlobId, bytes: Uint8Array): void {
    if (this.kept.has(id) || bytes.byteLength > this.opts.maxBytes) return;
    this.kept.set(id, bytes);
    this.keptBytes += bytes.byteLength;
    while (this.keptBytes > this.opts.maxBytes) this.take(this.kept.keys().next().value!);
  }

  private async readWindow(e: IndexEntry, signal?: AbortSignal): Promise<Uint8Array> {
    const half = this.opts.window / 2;
    const near = this.src.index
      .treesNear(e.pack, e.offset - half, e.offset + e.length + half)
      .filter((n) => n.id === e.id || (!this.kept.has(n.id) && !this.reading.has(n.id)));
    const start = Math.min(e.offset, ...near.map((n) => n.offset));
    const end = Math.max(e.offset + e.length, ...near.map((n) => n.offset + n.length));
    const read = this.src.readRange(e.pack, start, end - start, signal);
    const done = read.then(
      () => {},
      () => {},
    );
    for (const n of near) this.reading.set(n.id, done);
    try {
      const bytes = await read;
      for (const n of near) {
        if (n.id === e.id || n.offset + n.length - start > bytes.byteLength) continue;
        // A copy, so one kept tree does not hold the whole window's buffer.
        this.keep(n.id, bytes.slice(n.offset - start, n.offset - start + n.length));
      }
      return bytes.subarray(e.offset - start, e.offset - start + e.length);
    } finally {
      for (const n of near) if (this.reading.get(n.id) === done) this.reading.delete(n.id);
    }
  }
}
