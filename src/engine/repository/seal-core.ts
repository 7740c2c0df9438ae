/**
 * The CPU-heavy half of saving blobs: compress, encrypt, append to a pack, finish the pack. Runs in
 * seal-worker.ts threads, or inline (tests, tiny jobs). Each core owns its open packs (one per blob
 * type, each with its own random salt and subkey), so workers never share GCM keys or nonces.
 *
 * Memory: a data pack is written into a buffer of `capacity` bytes taken from a small free list;
 * the uploader hands finished buffers back ("recycle"), so a long backup circulates the same few
 * buffers instead of allocating 16 MiB per pack. Tree packs start small and grow.
 */

import { releaseBuffer, spansWhole } from "../../util/release.ts";
import { hmacSha256Hex } from "../crypto/aead.ts";
import type { BlobType } from "../types.ts";
import { compress } from "./compression.ts";
import { type FinishedPack, headerBytes, PackWriter } from "./pack-writer.ts";

export type { FinishedPack } from "./pack-writer.ts";

export type CoreRequest =
  | {
      kind: "init";
      encKey: Uint8Array | null;
      macKey: Uint8Array | null;
      packSize: number;
      /** false: finished packs come with id "" and the receiver hashes them (default true). */
      hashPacks?: boolean;
    }
  | { kind: "blob"; seq: number; type: BlobType; id: string; plaintext: Uint8Array; level: number }
  | BatchRequest
  | { kind: "flush"; seq: number }
  | { kind: "recycle"; buffer: ArrayBuffer };

export type CoreReply =
  | { kind: "added"; seq: number; storedBytes: number; buffer?: ArrayBuffer }
  | { kind: "failed"; seq: number; message: string; buffer?: ArrayBuffer }
  | { kind: "pack"; pack: FinishedPack }
  | { kind: "flushed"; seq: number }
  | BatchReply;

/**
 * Many small blobs in one message: a message costs the sender tens of microseconds whatever its
 * size, more than sealing a blob of a few hundred bytes. Blob i is data[ends[i-1]..ends[i]).
 */
export interface BatchRequest {
  kind: "blobs";
  seqs: number[];
  types: BlobType[];
  ids: string[];
  ends: number[];
  levels: number[];
  data: Uint8Array;
}

/** One reply per batch: stored[i] for seqs[i], or -1 with errors[i] when that blob failed. */
export interface BatchReply {
  kind: "addedMany";
  seqs: number[];
  stored: number[];
  errors: (string | null)[];
}

/**
 * Recycled pack buffers kept per core; more would only hold memory. One that is not kept is freed
 * at once (util/release.ts), so the next new pack reuses its warm memory.
 */
const MAX_FREE = 1;
const TREE_START = 64 * 1024;
/**
 * A pack also ends at this many blobs: 16 MiB of tiny files is ~370,000 blobs, whose entries were
 * held in the worker, then in the pending-index list and the index at once (a backup of a million
 * tiny files peaked at 1 GiB). Readers take packs of any blob count.
 */
export const MAX_PACK_BLOBS = 50_000;
/** Blobs below this size get their id checked against their content. */
const VERIFY_BELOW = 64 * 1024;

/** Buffer size of a data pack: the target size plus room for the blob that crosses it. */
export function packCapacity(packSize: number): number {
  return packSize + Math.max(packSize >> 3, 64 * 1024);
}

/**
 * A plaintext buffer worth handing back to the sender's staging pool. A smaller one that is a
 * whole buffer is the sender's private copy (staging.ts, moved here): it is freed now rather than
 * piling up in this thread until a collection. (A view into something larger, like repack's
 * unencrypted blobs inside a downloaded pack, is left alone.)
 */
function handBack(plaintext: Uint8Array): ArrayBuffer | undefined {
  const b = plaintext.buffer;
  if (b instanceof ArrayBuffer && b.byteLength >= 64 * 1024) return b;
  if (spansWhole(plaintext)) releaseBuffer(plaintext);
  return undefined;
}

/** Processes requests in order; `emit` receives replies in order. */
export class SealCore {
  private encKey: Uint8Array | null = null;
  private macKey: Uint8Array | null = null;
  private packSize = 16 * 1024 * 1024;
  private hashPacks = true;
  private readonly open = new Map<BlobType, PackWriter>();
  private readonly free: ArrayBuffer[] = [];

  constructor(private readonly emit: (reply: CoreReply) => void) {}

  handle(req: CoreRequest): void {
    if (req.kind === "init") {
      this.encKey = req.encKey;
      this.macKey = req.macKey;
      this.packSize = req.packSize;
      this.hashPacks = req.hashPacks ?? true;
    } else if (req.kind === "blob") {
      this.addBlob(req);
    } else if (req.kind === "blobs") {
      this.addBatch(req);
    } else if (req.kind === "recycle") {
      if (req.buffer.byteLength === packCapacity(this.packSize) && this.free.length < MAX_FREE)
        this.free.push(req.buffer);
      else releaseBuffer(new Uint8Array(req.buffer));
    } else {
      for (const type of [...this.open.keys()]) this.finishPack(type);
      this.emit({ kind: "flushed", seq: req.seq });
    }
  }

  private newPack(type: BlobType): PackWriter {
    const cap = packCapacity(this.packSize);
    const buf =
      type === "tree"
        ? new Uint8Array(Math.min(TREE_START, cap))
        : new Uint8Array(this.free.pop() ?? new ArrayBuffer(cap));
    const pack = new PackWriter(this.encKey, type, buf);
    this.open.set(type, pack);
    return pack;
  }

  private addBlob(req: Extract<CoreRequest, { kind: "blob" }>): void {
    let storedBytes: number;
    try {
      storedBytes = this.seal(req.type, req.id, req.plaintext, req.level);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.emit({ kind: "failed", seq: req.seq, message, buffer: handBack(req.plaintext) });
      return;
    }
    // The plaintext was copied into the pack: its buffer goes back to the sender for reuse.
    this.emit({ kind: "added", seq: req.seq, storedBytes, buffer: handBack(req.plaintext) });
    this.finishIfFull(req.type);
  }

  private addBatch(req: BatchRequest): void {
    const stored: number[] = [];
    const errors: (string | null)[] = [];
    let start = 0;
    for (let i = 0; i < req.seqs.length; i++) {
      const type = req.types[i]!;
      const end = req.ends[i]!;
      try {
        stored.push(this.seal(type, req.ids[i]!, req.data.subarray(start, end), req.levels[i]!));
        errors.push(null);
      } catch (e) {
        stored.push(-1);
        errors.push(e instanceof Error ? e.message : String(e));
      }
      start = end;
      this.finishIfFull(type);
    }
    // The batch's buffer is this core's own (moved here, or the inline lane's fresh slice): freed
    // now, it is reused by the next batch instead of piling up in this thread until a collection.
    if (spansWhole(req.data)) releaseBuffer(req.data);
    this.emit({ kind: "addedMany", seqs: req.seqs, stored, errors });
  }

  /** Compresses, encrypts and appends one blob to its type's open pack; returns its stored size. */
  private seal(type: BlobType, id: string, plaintext: Uint8Array, level: number): number {
    // A wrong id would make the blob unreadable later; catch the caller's bug now. Checked on
    // small blobs (trees, small files): on big chunks it doubled the hashing in the busiest
    // thread, and the archiver hashes and copies each chunk in one synchronous step.
    const check = this.macKey && plaintext.byteLength < VERIFY_BELOW;
    if (check && hmacSha256Hex(this.macKey!, plaintext) !== id) {
      throw new Error(`blob id ${id} does not match its content`);
    }
    const { data, compression } = compress(plaintext, level);
    let pack = this.open.get(type) ?? this.newPack(type);
    // A blob that would overflow the pack buffer closes the pack first (packs stay ≤ capacity).
    const stored = pack.storedLength(data.byteLength);
    const limit = packCapacity(this.packSize);
    if (pack.entries.length > 0 && pack.size + stored + headerBytes(pack.entries.length + 1, true) > limit) {
      this.finishPack(type);
      pack = this.newPack(type);
    }
    const storedBytes = pack.add(id, data, compression, plaintext.byteLength);
    // zstd's output is ours alone and copied into the pack: free it now (util/release.ts).
    if (compression === 1) releaseBuffer(data);
    return storedBytes;
  }

  private finishIfFull(type: BlobType): void {
    const pack = this.open.get(type);
    if (pack && (pack.size >= this.packSize || pack.entries.length >= MAX_PACK_BLOBS)) {
      this.finishPack(type);
    }
  }

  private finishPack(type: BlobType): void {
    const pack = this.open.get(type);
    this.open.delete(type);
    if (pack && pack.entries.length > 0) this.emit({ kind: "pack", pack: pack.finish(this.hashPacks) });
  }
}
