/**
 * One open pack being filled inside a seal core: sealed blobs are written straight into a buffer
 * that is reused pack after pack (finished buffers come back from the uploader), so sealing
 * allocates no pack-sized memory per pack. Large fresh allocations are what the JS heap is slowest
 * to give back; a few recycled buffers keep the footprint flat.
 */
import { createCipheriv, randomBytes } from "node:crypto";
import { releaseBuffer } from "../../util/release.ts";
import { NONCE_BYTES, random, SALT_BYTES, sha256Hex, TAG_BYTES } from "../crypto/aead.ts";
import type { BlobType } from "../types.ts";
import {
  type Compression,
  ENTRY_BYTES,
  encodeHeaderAndTrailer,
  type PackEntry,
  packSubkey,
  TRAILER_BYTES,
} from "./pack-format.ts";

export interface FinishedPack {
  id: string;
  type: BlobType;
  /** The pack's bytes: a view from offset 0 of a buffer that may be longer (see recycling). */
  bytes: Uint8Array;
  salt: Uint8Array;
  entries: PackEntry[];
}

/** Header (sealed when encrypted) plus trailer bytes for `count` entries. */
export function headerBytes(count: number, encrypted: boolean): number {
  return 5 + count * ENTRY_BYTES + (encrypted ? NONCE_BYTES + TAG_BYTES : 0) + TRAILER_BYTES;
}

const SEAL_PIECE = 128 * 1024;

/** AES-256-GCM of `data` written as nonce ‖ ciphertext ‖ tag at out[at…]; returns bytes written. */
function sealInto(key: Uint8Array, data: Uint8Array, out: Uint8Array, at: number): number {
  const nonce = randomBytes(NONCE_BYTES);
  out.set(nonce, at);
  const cipher = createCipheriv("aes-256-gcm", key, nonce);
  let pos = at + NONCE_BYTES;
  // In pieces, each freed once copied (see releaseBuffer): one warm 128 KiB block serves every
  // piece instead of a blob's worth of dead outputs waiting for a collection.
  for (let off = 0; off < data.byteLength; off += SEAL_PIECE) {
    const body = cipher.update(data.subarray(off, off + SEAL_PIECE));
    out.set(body, pos);
    pos += body.byteLength;
    releaseBuffer(body);
  }
  const final = cipher.final();
  out.set(final, pos);
  pos += final.byteLength;
  out.set(cipher.getAuthTag(), pos);
  return pos + TAG_BYTES - at;
}

export class PackWriter {
  readonly salt = random(SALT_BYTES);
  readonly subkey: Uint8Array | null;
  readonly entries: PackEntry[] = [];
  /** Bytes of sealed blobs so far. */
  size = 0;

  constructor(
    encKey: Uint8Array | null,
    readonly type: BlobType,
    private buf: Uint8Array,
  ) {
    this.subkey = encKey ? packSubkey(encKey, this.salt) : null;
    if (!encKey) this.salt.fill(0);
  }

  /** Stored size of a blob whose (possibly compressed) data is `dataLength` bytes. */
  storedLength(dataLength: number): number {
    return dataLength + (this.subkey ? NONCE_BYTES + TAG_BYTES : 0);
  }

  /** True when a blob of `stored` bytes still fits the buffer along with the final header. */
  fits(stored: number): boolean {
    return (
      this.size + stored + headerBytes(this.entries.length + 1, this.subkey !== null) <= this.buf.byteLength
    );
  }

  /** Appends a blob (growing the buffer when it does not fit). Returns its stored length. */
  add(id: string, data: Uint8Array, compression: Compression, rawLength: number): number {
    const stored = this.storedLength(data.byteLength);
    // The index and pack header store 32-bit offsets and lengths.
    if (this.size + stored > 0xffffffff) throw new Error("blob too large for a pack");
    if (!this.fits(stored)) this.grow(this.size + stored + headerBytes(this.entries.length + 1, true));
    if (this.subkey) sealInto(this.subkey, data, this.buf, this.size);
    else this.buf.set(data, this.size);
    this.entries.push({ type: this.type, id, offset: this.size, length: stored, rawLength, compression });
    this.size += stored;
    return stored;
  }

  private grow(needed: number): void {
    const bigger = new Uint8Array(Math.max(needed, 2 * this.buf.byteLength));
    bigger.set(this.buf.subarray(0, this.size));
    releaseBuffer(this.buf);
    this.buf = bigger;
  }

  /**
   * Writes header and trailer and hands the buffer over (the writer must not be used again).
   * Without `hash`, id is "" and the receiver names the pack (SHA-256 of bytes).
   */
  finish(hash = true): FinishedPack {
    const tail = encodeHeaderAndTrailer(this.entries, this.subkey, this.salt);
    if (this.size + tail.byteLength > this.buf.byteLength) this.grow(this.size + tail.byteLength);
    this.buf.set(tail, this.size);
    const bytes = this.buf.subarray(0, this.size + tail.byteLength);
    const id = hash ? sha256Hex(bytes) : "";
    return { id, type: this.type, bytes, salt: this.salt, entries: this.entries };
  }
}
