/**
 * The in-memory index: blob (type, id) → pack, offset, lengths. Column arrays plus an
 * open-addressing hash table keep it near 55–70 bytes per blob (ids as 32 raw bytes, no per-entry
 * objects, columns grown a 64 Ki-entry chunk at a time), so 5 million blobs cost ~320 MB, not
 * gigabytes. Entry numbers are stable: sets over the index are bitsets (see prune/load.ts).
 */

import { toHex } from "../crypto/aead.ts";
import type { BlobType } from "../types.ts";
import { type Compression, ENTRY_BYTES, type PackEntry } from "./pack-format.ts";

export interface PackInfo {
  id: string;
  size: number;
  salt: Uint8Array;
}

export interface IndexEntry extends PackEntry {
  pack: string;
}

const EMPTY = -1;
/** Entries per column chunk: growth adds a chunk instead of copying every column (no 2× peaks). */
const CHUNK_BITS = 16;
const CHUNK = 1 << CHUNK_BITS;
const LOW = CHUNK - 1;

const HEX_ID = /^[0-9a-f]{64}$/;

/** One chunk of columns: ids (32 raw bytes), pack number/offset/length/raw length, flags. */
interface Columns {
  ids: Uint8Array;
  meta: Uint32Array;
  /** Bit 0 = tree, bit 1 = zstd. */
  flags: Uint8Array;
}

function newColumns(): Columns {
  return { ids: new Uint8Array(32 * CHUNK), meta: new Uint32Array(4 * CHUNK), flags: new Uint8Array(CHUNK) };
}

function idEquals(ids: Uint8Array, base: number, key: Uint8Array, at: number): boolean {
  for (let i = 0; i < 32; i++) if (ids[base + i] !== key[at + i]) return false;
  return true;
}

export class BlobIndex {
  private readonly chunks: Columns[] = [];
  /** Entry number + 1 per slot (0 = empty), kept at most half full. */
  private table = new Int32Array(2048);
  private count = 0;
  private readonly scratch = Buffer.alloc(32);
  private readonly packList: PackInfo[] = [];
  private readonly packNumbers = new Map<string, number>();
  /** Per pack number: entry numbers of its tree blobs (for reading trees a window at a time). */
  private readonly treesByPack: number[][] = [];

  get size(): number {
    return this.count;
  }

  /** Registers a pack (idempotent) and returns its number. */
  addPack(info: PackInfo): number {
    const known = this.packNumbers.get(info.id);
    if (known !== undefined) return known;
    this.packList.push(info);
    this.packNumbers.set(info.id, this.packList.length - 1);
    return this.packList.length - 1;
  }

  packs(): readonly PackInfo[] {
    return this.packList;
  }

  pack(id: string): PackInfo | undefined {
    const n = this.packNumbers.get(id);
    return n === undefined ? undefined : this.packList[n];
  }

  hasPack(id: string): boolean {
    return this.packNumbers.has(id);
  }

  /** The 32 bytes of a lowercase hex id (native decode: ~2.5× the speed of a loop per nibble). */
  private parse(id: string): Uint8Array | null {
    if (!HEX_ID.test(id)) return null;
    this.scratch.write(id, 0, 32, "hex");
    return this.scratch;
  }

  /** The slot of (key at `at`, tree): the entry's, or the empty one where it would go. */
  private slotOf(key: Uint8Array, at: number, tree: number): number {
    const mask = this.table.length - 1;
    let slot = (key[at]! | (key[at + 1]! << 8) | (key[at + 2]! << 16) | (key[at + 3]! << 24)) & mask;
    for (;;) {
      const e = this.table[slot]! - 1;
      if (e === EMPTY) return slot;
      const c = this.chunks[e >>> CHUNK_BITS]!;
      if ((c.flags[e & LOW]! & 1) === tree && idEquals(c.ids, (e & LOW) * 32, key, at)) return slot;
      slot = (slot + 1) & mask;
    }
  }

  has(type: BlobType, id: string): boolean {
    return this.position(type, id) !== EMPTY;
  }

  /** The entry number of a blob (0 ≤ n < size, stable for the index's life), or -1 when absent. */
  position(type: BlobType, id: string): number {
    const key = this.parse(id);
    return key === null ? EMPTY : this.table[this.slotOf(key, 0, type === "tree" ? 1 : 0)]! - 1;
  }

  /** position() for an id given as 32 raw bytes at `at` of `key` (tree: 1, data: 0). */
  positionOfKey(key: Uint8Array, at: number, tree: number): number {
    return this.table[this.slotOf(key, at, tree)]! - 1;
  }

  get(type: BlobType, id: string): IndexEntry | undefined {
    const e = this.position(type, id);
    return e === EMPTY ? undefined : this.entryAt(e);
  }

  /** The pack id of the entry numbered `e`, without building the entry. */
  packOfEntry(e: number): string {
    return this.packList[this.chunks[e >>> CHUNK_BITS]!.meta[4 * (e & LOW)]!]!.id;
  }

  /** The entry numbered `e` (see position). */
  entryAt(e: number): IndexEntry {
    const c = this.chunks[e >>> CHUNK_BITS]!;
    const i = e & LOW;
    const m = c.meta;
    const f = c.flags[i]!;
    return {
      type: f & 1 ? "tree" : "data",
      id: toHex(c.ids.subarray(i * 32, i * 32 + 32)),
      pack: this.packList[m[4 * i]!]!.id,
      offset: m[4 * i + 1]!,
      length: m[4 * i + 2]!,
      rawLength: m[4 * i + 3]!,
      compression: ((f >> 1) & 1) as Compression,
    };
  }

  /** Adds an entry of pack `packNumber`; a blob already indexed is kept where it is (false). */
  add(packNumber: number, e: PackEntry): boolean {
    const key = this.parse(e.id);
    if (!key) throw new Error(`bad blob id ${e.id}`);
    const tree = e.type === "tree" ? 1 : 0;
    return this.insert(packNumber, key, 0, tree | (e.compression << 1), e.offset, e.length, e.rawLength);
  }

  /**
   * Adds a pack's entries in their 46-byte encoding (pack-format.ts writeEntry), already validated
   * (index-file.ts visitIndex): no object or hex string per entry while a big index loads.
   */
  addEncoded(packNumber: number, raw: Uint8Array, count: number): void {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    for (let k = 0, at = 0; k < count; k++, at += ENTRY_BYTES) {
      const flags = (raw[at]! & 1) | ((raw[at + 1]! & 1) << 1);
      const offset = view.getUint32(at + 2, true);
      this.insert(
        packNumber,
        raw,
        at + 14,
        flags,
        offset,
        view.getUint32(at + 6, true),
        view.getUint32(at + 10, true),
      );
    }
  }

  private insert(
    packNumber: number,
    key: Uint8Array,
    at: number,
    flags: number,
    offset: number,
    length: number,
    rawLength: number,
  ): boolean {
    const tree = flags & 1;
    let slot = this.slotOf(key, at, tree);
    if (this.table[slot] !== 0) return false;
    if ((this.count + 1) * 2 > this.table.length) {
      this.rehash(this.table.length * 2);
      slot = this.slotOf(key, at, tree);
    }
    const n = this.count++;
    if (n >>> CHUNK_BITS === this.chunks.length) this.chunks.push(newColumns());
    const c = this.chunks[n >>> CHUNK_BITS]!;
    const i = n & LOW;
    c.ids.set(key.subarray(at, at + 32), i * 32);
    c.meta[4 * i] = packNumber;
    c.meta[4 * i + 1] = offset;
    c.meta[4 * i + 2] = length;
    c.meta[4 * i + 3] = rawLength;
    c.flags[i] = flags;
    this.table[slot] = n + 1;
    if (tree) {
      const list = this.treesByPack[packNumber];
      if (list) list.push(n);
      else this.treesByPack[packNumber] = [n];
    }
    return true;
  }

  private rehash(size: number): void {
    this.table = new Int32Array(size);
    for (let n = 0; n < this.count; n++) {
      const c = this.chunks[n >>> CHUNK_BITS]!;
      const i = n & LOW;
      this.table[this.slotOf(c.ids, i * 32, c.flags[i]! & 1)] = n + 1;
    }
  }

  /** Tree entries of pack `packId` lying wholly within [from, to). */
  treesNear(packId: string, from: number, to: number): IndexEntry[] {
    const n = this.packNumbers.get(packId);
    const out: IndexEntry[] = [];
    if (n === undefined) return out;
    for (const e of this.treesByPack[n] ?? []) {
      const m = this.chunks[e >>> CHUNK_BITS]!.meta;
      const i = e & LOW;
      if (m[4 * i + 1]! >= from && m[4 * i + 1]! + m[4 * i + 2]! <= to) out.push(this.entryAt(e));
    }
    return out;
  }

  *entries(): IterableIterator<IndexEntry> {
    for (let n = 0; n < this.count; n++) yield this.entryAt(n);
  }
}
