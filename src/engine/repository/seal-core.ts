/**
 * The CPU-heavy half of saving blobs: compress, encrypt, append to a pack, finish the pack. Runs in
 * seal-worker.ts threads, or inline (tests, tiny jobs). Each core owns its open packs (one per blob
 * type, each with its own random salt and subkey), so workers never share GCM keys or nonces.
 */

import { gcmSeal, hmacSha256Hex, random, SALT_BYTES, sha256Hex } from "../crypto/aead.ts";
import type { BlobType } from "../types.ts";
import { compress } from "./compression.ts";
import { encodeHeaderAndTrailer, type PackEntry, packSubkey } from "./pack-format.ts";

export interface FinishedPack {
  id: string;
  type: BlobType;
  bytes: Uint8Array;
  salt: Uint8Array;
  entries: PackEntry[];
}

export type CoreRequest =
  | { kind: "init"; encKey: Uint8Array | null; macKey: Uint8Array | null; packSize: number }
  | { kind: "blob"; seq: number; type: BlobType; id: string; plaintext: Uint8Array; level: number }
  | { kind: "flush"; seq: number };

export type CoreReply =
  | { kind: "added"; seq: number; storedBytes: number }
  | { kind: "failed"; seq: number; message: string }
  | { kind: "pack"; pack: FinishedPack }
  | { kind: "flushed"; seq: number };

class OpenPack {
  readonly salt = random(SALT_BYTES);
  readonly subkey: Uint8Array | null;
  readonly parts: Uint8Array[] = [];
  readonly entries: PackEntry[] = [];
  size = 0;

  constructor(
    encKey: Uint8Array | null,
    readonly type: BlobType,
  ) {
    this.subkey = encKey ? packSubkey(encKey, this.salt) : null;
    if (!encKey) this.salt.fill(0);
  }

  add(id: string, plaintext: Uint8Array, level: number): number {
    const { data, compression } = compress(plaintext, level);
    const stored = this.subkey ? gcmSeal(this.subkey, data) : data.slice();
    // The index and pack header store 32-bit offsets and lengths.
    if (this.size + stored.byteLength > 0xffffffff) throw new Error("blob too large for a pack");
    this.entries.push({
      type: this.type,
      id,
      offset: this.size,
      length: stored.byteLength,
      rawLength: plaintext.byteLength,
      compression,
    });
    this.parts.push(stored);
    this.size += stored.byteLength;
    return stored.byteLength;
  }

  finish(): FinishedPack {
    this.parts.push(encodeHeaderAndTrailer(this.entries, this.subkey, this.salt));
    let total = 0;
    for (const p of this.parts) total += p.byteLength;
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const p of this.parts) {
      bytes.set(p, at);
      at += p.byteLength;
    }
    return { id: sha256Hex(bytes), type: this.type, bytes, salt: this.salt, entries: this.entries };
  }
}

/** Processes requests in order; `emit` receives replies in order. */
export class SealCore {
  private encKey: Uint8Array | null = null;
  private macKey: Uint8Array | null = null;
  private packSize = 16 * 1024 * 1024;
  private readonly open = new Map<BlobType, OpenPack>();

  constructor(private readonly emit: (reply: CoreReply) => void) {}

  handle(req: CoreRequest): void {
    if (req.kind === "init") {
      this.encKey = req.encKey;
      this.macKey = req.macKey;
      this.packSize = req.packSize;
    } else if (req.kind === "blob") {
      this.addBlob(req);
    } else {
      for (const type of [...this.open.keys()]) this.finishPack(type);
      this.emit({ kind: "flushed", seq: req.seq });
    }
  }

  private addBlob(req: Extract<CoreRequest, { kind: "blob" }>): void {
    let pack = this.open.get(req.type);
    if (!pack) {
      pack = new OpenPack(this.encKey, req.type);
      this.open.set(req.type, pack);
    }
    let storedBytes: number;
    try {
      // A wrong id would make the blob unreadable later; catch the caller's bug now.
      if (this.macKey && hmacSha256Hex(this.macKey, req.plaintext) !== req.id) {
        throw new Error(`blob id ${req.id} does not match its content`);
      }
      storedBytes = pack.add(req.id, req.plaintext, req.level);
    } catch (e) {
      this.emit({ kind: "failed", seq: req.seq, message: e instanceof Error ? e.message : String(e) });
      return;
    }
    this.emit({ kind: "added", seq: req.seq, storedBytes });
    if (pack.size >= this.packSize) this.finishPack(req.type);
  }

  private finishPack(type: BlobType): void {
    const pack = this.open.get(type);
    this.open.delete(type);
    if (pack && pack.entries.length > 0) this.emit({ kind: "pack", pack: pack.finish() });
  }
}
