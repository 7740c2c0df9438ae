/**
 * Index files ("index/<id>"): which blobs each pack holds, so opening a repository reads a few
 * index files instead of every pack header. Binary payload (docs/repository-format.md, "Index"),
 * zstd-compressed, then sealed with kind "index". Written only after the packs they describe.
 */
import { IntegrityError } from "../../util/errors.ts";
import { fromHex, SALT_BYTES, toHex } from "../crypto/aead.ts";
import { type MasterKeys, openWith, sealWith } from "../crypto/keys.ts";
import { compress, decompress } from "./compression.ts";
import { ENTRY_BYTES, type PackEntry, readEntry, TRAILER_BYTES, writeEntry } from "./pack-format.ts";

const MAGIC = [0x42, 0x4b, 0x49, 0x58]; // "BKIX"
const VERSION = 1;
/** A generous cap on the decompressed payload (about 20 million entries). */
const MAX_PAYLOAD = 1 << 30;

export interface IndexPack {
  id: string;
  size: number;
  salt: Uint8Array;
  entries: PackEntry[];
}

export interface IndexFile {
  /** Index files this one replaces (written by prune; they may be deleted once this exists). */
  supersedes: string[];
  packs: IndexPack[];
}

/** Entries of a pack to write: objects, or already encoded (prune rewrites millions unchanged). */
type PackToWrite = IndexPack | EncodedIndexPack;

function entryCount(p: PackToWrite): number {
  return "raw" in p ? p.count : p.entries.length;
}

export function encodeIndex(
  index: { supersedes: string[]; packs: PackToWrite[] },
  keys: MasterKeys,
): Uint8Array {
  let size = 4 + 1 + 4 + index.supersedes.length * 32 + 4;
  for (const p of index.packs) size += 32 + 4 + SALT_BYTES + 4 + entryCount(p) * ENTRY_BYTES;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  view.setUint8(4, VERSION);
  let at = 5;
  view.setUint32(at, index.supersedes.length, true);
  at += 4;
  for (const id of index.supersedes) {
    out.set(fromHex(id), at);
    at += 32;
  }
  view.setUint32(at, index.packs.length, true);
  at += 4;
  for (const p of index.packs) {
    out.set(fromHex(p.id), at);
    view.setUint32(at + 32, p.size, true);
    out.set(p.salt, at + 36);
    view.setUint32(at + 36 + SALT_BYTES, entryCount(p), true);
    at += 40 + SALT_BYTES;
    if ("raw" in p) {
      out.set(p.raw.subarray(0, p.count * ENTRY_BYTES), at);
      at += p.count * ENTRY_BYTES;
      continue;
    }
    for (const e of p.entries) {
      writeEntry(view, out, at, e);
      at += ENTRY_BYTES;
    }
  }
  const { data, compression } = compress(out, 3);
  const framed = new Uint8Array(data.byteLength + 5);
  framed[0] = compression;
  new DataView(framed.buffer).setUint32(1, out.byteLength, true);
  framed.set(data, 5);
  return sealWith(keys, "index", framed);
}

class Reader {
  at = 0;
  readonly view: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  need(n: number): void {
    if (this.at + n > this.bytes.byteLength) throw new IntegrityError("index file truncated");
  }
  u32(): number {
    this.need(4);
    this.at += 4;
    return this.view.getUint32(this.at - 4, true);
  }
  raw(n: number): Uint8Array {
    this.need(n);
    this.at += n;
    return this.bytes.slice(this.at - n, this.at);
  }
}

/**
 * Blobs lie before the pack's header and trailer. An entry reaching past them (a hostile or buggy
 * index) would make readers ask for, and buffer, up to 4 GiB for one blob.
 */
function checkEntries(raw: Uint8Array, count: number, pack: string, packSize: number): void {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  for (let k = 0, at = 0; k < count; k++, at += ENTRY_BYTES) {
    if (raw[at]! > 1 || raw[at + 1]! > 1) {
      throw new IntegrityError(`unknown blob type ${raw[at]} or compression ${raw[at + 1]}`);
    }
    const offset = view.getUint32(at + 2, true);
    const length = view.getUint32(at + 6, true);
    if (offset + length > packSize - TRAILER_BYTES) {
      const e = readEntry(view, raw, at);
      throw new IntegrityError(
        `index entry of ${e.type} blob ${e.id} points past the end of pack ${pack} (offset ${offset}, length ${length}, pack size ${packSize})`,
      );
    }
  }
}

/** One pack of an index file with its entries still encoded (46 bytes each, validated). */
export interface EncodedIndexPack {
  id: string;
  size: number;
  salt: Uint8Array;
  count: number;
  /** The entries' bytes: a view into the decoded file, copy it to keep it. */
  raw: Uint8Array;
}

/**
 * Opens an index file and hands each pack to `onPack` with its entries still encoded, so a big
 * index loads without an object and a hex string per entry. Returns the ids it supersedes.
 * IntegrityError when it does not authenticate or parse (before any pack for a bad frame or
 * header; a bad entry throws before its pack is handed over).
 */
export function visitIndex(
  stored: Uint8Array,
  keys: MasterKeys,
  onPack: (pack: EncodedIndexPack) => void,
): string[] {
  const framed = openWith(keys, "index", stored);
  if (framed.byteLength < 5 || framed[0]! > 1) throw new IntegrityError("index file has a bad frame");
  const rawLength = new DataView(framed.buffer, framed.byteOffset).getUint32(1, true);
  if (rawLength > MAX_PAYLOAD) throw new IntegrityError("index file too large");
  const r = new Reader(decompress(framed.subarray(5), framed[0] as 0 | 1, rawLength));
  if (!MAGIC.every((b, i) => r.bytes[i] === b) || r.bytes[4] !== VERSION) {
    throw new IntegrityError("not an index file of format 1");
  }
  r.at = 5;
  const supersedes: string[] = [];
  for (let n = r.u32(); n > 0; n--) supersedes.push(toHex(r.raw(32)));
  for (let n = r.u32(); n > 0; n--) {
    const id = toHex(r.raw(32));
    const size = r.u32();
    const salt = r.raw(SALT_BYTES);
    const count = r.u32();
    r.need(count * ENTRY_BYTES);
    const raw = r.bytes.subarray(r.at, r.at + count * ENTRY_BYTES);
    checkEntries(raw, count, id, size);
    r.at += count * ENTRY_BYTES;
    onPack({ id, size, salt, count, raw });
  }
  if (r.at !== r.bytes.byteLength) throw new IntegrityError("index file has trailing bytes");
  return supersedes;
}

/** The entries of an encoded pack as objects. */
export function decodeEntries(raw: Uint8Array, count: number): PackEntry[] {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out: PackEntry[] = [];
  for (let k = 0; k < count; k++) out.push(readEntry(view, raw, k * ENTRY_BYTES));
  return out;
}

/** Opens and parses an index file. IntegrityError when it does not authenticate or parse. */
export function decodeIndex(stored: Uint8Array, keys: MasterKeys): IndexFile {
  const packs: IndexPack[] = [];
  const supersedes = visitIndex(stored, keys, (p) => {
    packs.push({ id: p.id, size: p.size, salt: p.salt, entries: decodeEntries(p.raw, p.count) });
  });
  return { supersedes, packs };
}
