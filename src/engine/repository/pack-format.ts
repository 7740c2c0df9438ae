/**
 * Byte layout of pack files (docs/repository-format.md, "Packs"):
 *   blob_0 ‖ … ‖ blob_n-1 ‖ header ‖ trailer
 * trailer (24 bytes) = salt[16] ‖ header_length u32 LE ‖ "BKP1"; header = seal(entries) under the
 * pack subkey HKDF(master, salt, "backapp v1 pack"). The header lists every blob, so the index can
 * always be rebuilt from the packs alone.
 */
import { IntegrityError } from "../../util/errors.ts";
import {
  deriveSubkey,
  fromHex,
  gcmOpen,
  gcmSeal,
  INFO_PACK,
  SALT_BYTES,
  toHex,
  utf8,
} from "../crypto/aead.ts";
import type { BlobType } from "../types.ts";

export const TRAILER_BYTES = SALT_BYTES + 8;
export const ENTRY_BYTES = 46;
const MAGIC = [0x42, 0x4b, 0x50, 0x31]; // "BKP1"
const HEADER_AAD = utf8("backapp v1 pack-header");
const HEADER_VERSION = 1;

/** 0 = stored as is, 1 = zstd. */
export type Compression = 0 | 1;

export interface PackEntry {
  type: BlobType;
  id: string;
  /** Byte offset of the stored blob inside the pack. */
  offset: number;
  /** Stored (compressed and sealed) length. */
  length: number;
  /** Plaintext length. */
  rawLength: number;
  compression: Compression;
}

/** Writes one 46-byte entry: type u8, compression u8, offset, length, raw length (u32 LE), id[32]. */
export function writeEntry(view: DataView, bytes: Uint8Array, at: number, e: PackEntry): void {
  view.setUint8(at, e.type === "tree" ? 1 : 0);
  view.setUint8(at + 1, e.compression);
  view.setUint32(at + 2, e.offset, true);
  view.setUint32(at + 6, e.length, true);
  view.setUint32(at + 10, e.rawLength, true);
  bytes.set(fromHex(e.id), at + 14);
}

export function readEntry(view: DataView, bytes: Uint8Array, at: number): PackEntry {
  const t = view.getUint8(at);
  const c = view.getUint8(at + 1);
  if (t > 1 || c > 1) throw new IntegrityError(`unknown blob type ${t} or compression ${c}`);
  return {
    type: t === 1 ? "tree" : "data",
    compression: c as Compression,
    offset: view.getUint32(at + 2, true),
    length: view.getUint32(at + 6, true),
    rawLength: view.getUint32(at + 10, true),
    id: toHex(bytes.subarray(at + 14, at + 46)),
  };
}

export function packSubkey(encKey: Uint8Array, salt: Uint8Array): Uint8Array {
  return deriveSubkey(encKey, salt, INFO_PACK);
}

/** Header and trailer bytes for a pack whose blobs are `entries`. */
export function encodeHeaderAndTrailer(
  entries: PackEntry[],
  subkey: Uint8Array | null,
  salt: Uint8Array,
): Uint8Array {
  const plain = new Uint8Array(5 + entries.length * ENTRY_BYTES);
  const view = new DataView(plain.buffer);
  view.setUint8(0, HEADER_VERSION);
  view.setUint32(1, entries.length, true);
  for (const [i, e] of entries.entries()) writeEntry(view, plain, 5 + i * ENTRY_BYTES, e);
  const header = subkey ? gcmSeal(subkey, plain, HEADER_AAD) : plain;
  const out = new Uint8Array(header.byteLength + TRAILER_BYTES);
  out.set(header, 0);
  const trailer = new DataView(out.buffer, header.byteLength);
  out.set(salt, header.byteLength);
  trailer.setUint32(SALT_BYTES, header.byteLength, true);
  out.set(MAGIC, header.byteLength + SALT_BYTES + 4);
  return out;
}

export interface Trailer {
  salt: Uint8Array;
  headerLength: number;
}

export function decodeTrailer(trailer: Uint8Array): Trailer {
  if (trailer.byteLength !== TRAILER_BYTES) throw new IntegrityError("pack trailer truncated");
  const view = new DataView(trailer.buffer, trailer.byteOffset, trailer.byteLength);
  if (!MAGIC.every((b, i) => trailer[SALT_BYTES + 4 + i] === b)) {
    throw new IntegrityError("not a pack (bad magic)");
  }
  return { salt: trailer.slice(0, SALT_BYTES), headerLength: view.getUint32(SALT_BYTES, true) };
}

/**
 * Decodes a pack header and checks that its entries tile the pack exactly: blobs back to back from
 * offset 0 up to the header. IntegrityError otherwise.
 */
export function decodeHeader(header: Uint8Array, subkey: Uint8Array | null, packSize: number): PackEntry[] {
  const plain = subkey ? gcmOpen(subkey, header, HEADER_AAD) : header;
  const view = new DataView(plain.buffer, plain.byteOffset, plain.byteLength);
  if (plain.byteLength < 5 || view.getUint8(0) !== HEADER_VERSION) {
    throw new IntegrityError("unknown pack header version");
  }
  const count = view.getUint32(1, true);
  if (plain.byteLength !== 5 + count * ENTRY_BYTES) throw new IntegrityError("pack header length mismatch");
  const entries: PackEntry[] = [];
  let expected = 0;
  for (let i = 0; i < count; i++) {
    const e = readEntry(view, plain, 5 + i * ENTRY_BYTES);
    if (e.offset !== expected) throw new IntegrityError(`pack header entry ${i} has a bad offset`);
    expected += e.length;
    entries.push(e);
  }
  if (expected + header.byteLength + TRAILER_BYTES !== packSize) {
    throw new IntegrityError("pack header does not cover the pack");
  }
  return entries;
}

/**
 * Reads a pack's header with two range reads (trailer, then header): what index rebuilding and
 * `check --read-data` use. `get(offset, length)` reads a byte range of the pack.
 */
export async function readPackHeader(
  get: (offset: number, length: number) => Promise<Uint8Array>,
  packSize: number,
  encKey: Uint8Array | null,
): Promise<{ salt: Uint8Array; entries: PackEntry[] }> {
  if (packSize < TRAILER_BYTES) throw new IntegrityError("pack shorter than its trailer");
  const { salt, headerLength } = decodeTrailer(await get(packSize - TRAILER_BYTES, TRAILER_BYTES));
  if (headerLength > packSize - TRAILER_BYTES) throw new IntegrityError("pack header length out of range");
  const header = await get(packSize - TRAILER_BYTES - headerLength, headerLength);
  const subkey = encKey ? packSubkey(encKey, salt) : null;
  return { salt, entries: decodeHeader(header, subkey, packSize) };
}

export function packName(id: string): string {
  return `data/${id.slice(0, 2)}/${id}`;
}
