/**
 * The in-memory index: blob (type, id) → pack, offset, lengths. Column arrays plus an
 * open-addressing hash table keep it near 60–100 bytes per blob (ids as 32 raw bytes, no per-entry
 * objects), so a million blobs cost tens of megabytes, not gigabytes.
 */

import { toHex } from "../crypto/aead.ts";
import type { BlobType } from "../types.ts";
import type { Compression, PackEntry } from "./pack-format.ts";

export interface PackInfo {
  id: string;
  size: number;
  salt: Uint8Array;
}

export interface IndexEntry extends PackEntry {
  pack: string;
}

const EMPTY = -1;

function hexNibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

export class BlobIndex {
  private ids = new Uint8Array(32 * 1024);
  /** Per entry: pack number, offset, length, raw length. */
  private meta = new Uint32Array(4 * 1024);
  /** Per entry: bit 0 = tree, bit 1 = zstd. */
  private flags = new Uint8Array(1024);
  private table = new Int32Array(2048).fill(EMPTY);
  private count = 0;
  private readonly scratch = new Uint8Array(32);
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

  private parse(id: string): Uint8Array | null {
    if (id.length !== 64) return null;
    for (let i = 0; i < 32; i++) {
      const hi = hexNibble(id.charCodeAt(2 * i));
      const lo = hexNibble(id.charCodeAt(2 * i + 1));
      if (hi < 0 || lo < 0) return null;
      this.scratch[i] = (hi << 4) | lo;
    }
    return this.scratch;
  }

  private slotOf(key: Uint8Array, tree: number): number {
    const mask = this.table.length - 1;
    let slot = (key[0]! | (key[1]! << 8) | (key[2]! << 16) | (key[3]! << 24)) & mask;
    for (;;) {
      const e = this.table[slot]!;
      if (e === EMPTY || ((this.flags[e]! & 1) === tree && this.idEquals(e, key))) return slot;
      slot = (slot + 1) & mask;
    }
  }

  private idEquals(e: number, key: Uint8Array): boolean {
    const base = e * 32;
    for (let i = 0; i < 32; i++) if (this.ids[base + i] !== key[i]) return false;
    return true;
  }

  has(type: BlobType, id: string): boolean {
    const key = this.parse(id);
    return key !== null && this.table[this.slotOf(key, type === "tree" ? 1 : 0)] !== EMPTY;
  }

  get(type: BlobType, id: string): IndexEntry | undefined {
    const key = this.parse(id);
    if (!key) return undefined;
    const e = this.table[this.slotOf(key, type === "tree" ? 1 : 0)]!;
    return e === EMPTY ? undefined : this.entryAt(e);
  }

  private entryAt(e: number): IndexEntry {
    const m = this.meta;
    const f = this.flags[e]!;
    return {
      type: f & 1 ? "tree" : "data",
      id: toHex(this.ids.subarray(e * 32, e * 32 + 32)),
      pack: this.packList[m[4 * e]!]!.id,
      offset: m[4 * e + 1]!,
      length: m[4 * e + 2]!,
      rawLength: m[4 * e + 3]!,
      compression: ((f >> 1) & 1) as Compression,
    };
  }

  /** Adds an entry of pack `packNumber`; a blob already indexed is kept where it is (false). */
  add(packNumber: number, e: PackEntry): boolean {
    const key = this.parse(e.id);
    if (!key) throw new Error(`bad blob id ${e.id}`);
    const tree = e.type === "tree" ? 1 : 0;
    let slot = this.slotOf(key, tree);
    if (this.table[slot] !== EMPTY) return false;
    if (this.count + 1 > this.flags.length) this.growColumns();
    if ((this.count + 1) * 2 > this.table.length) {
      this.rehash(this.table.length * 2);
      slot = this.slotOf(key, tree);
    }
    const n = this.count++;
    this.ids.set(key, n * 32);
    this.meta.set([packNumber, e.offset, e.length, e.rawLength], n * 4);
    this.flags[n] = tree | (e.compression << 1);
    this.table[slot] = n;
    if (tree) {
      const list = this.treesByPack[packNumber];
      if (list) list.push(n);
      else this.treesByPack[packNumber] = [n];
    }
    return true;
  }

  private growColumns(): void {
    const cap = this.flags.length * 2;
    const ids = new Uint8Array(cap * 32);
    ids.set(this.ids);
    const meta = new Uint32Array(cap * 4);
    meta.set(this.meta);
    const flags = new Uint8Array(cap);
    flags.set(this.flags);
    this.ids = ids;
    this.meta = meta;
    this.flags = flags;
  }

  private rehash(size: number): void {
    this.table = new Int32Array(size).fill(EMPTY);
    for (let n = 0; n < this.count; n++) {
      const key = this.ids.subarray(n * 32, n * 32 + 32);
      this.table[this.slotOf(key, this.flags[n]! & 1)] = n;
    }
  }

  /** Tree entries of pack `packId` lying wholly within [from, to). */
  treesNear(packId: string, from: number, to: number): IndexEntry[] {
    const n = this.packNumbers.get(packId);
    const out: IndexEntry[] = [];
    if (n === undefined) return out;
    for (const e of this.treesByPack[n] ?? []) {
      const offset = this.meta[4 * e + 1]!;
      if (offset >= from && offset + this.meta[4 * e + 2]! <= to) out.push(this.entryAt(e));
    }
    return out;
  }

  *entries(): IterableIterator<IndexEntry> {
    for (let n = 0; n < this.count; n++) yield this.entryAt(n);
  }
}
