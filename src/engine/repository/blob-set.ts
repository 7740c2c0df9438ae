/** Sets of blobs as bits over the repository's index (prune's used and chosen blobs, check's seen ones). */
import { toHex } from "../crypto/aead.ts";
import type { BlobId, BlobType } from "../types.ts";
import { BlobIndex } from "./blob-index.ts";

/**
 * A compact set of (type, id) pairs. Given the repository's index, a pair the index holds is one
 * bit at its entry number (and, once a pack is recorded, 4 bytes for it): 5 million blobs cost
 * ~1 MB, or ~21 MB with packs, instead of a second copy of every id. Pairs the index lacks (a blob
 * a snapshot names but no index lists) go to a small BlobIndex of their own.
 */
export class BlobSet {
  private readonly extra = new BlobIndex();
  private readonly bits: Uint8Array;
  /** Per entry number of the base index: pack number + 1 (0 = none), allocated on first need. */
  private packAt: Int32Array | null = null;
  private readonly packList: string[] = [];
  private readonly packs = new Map<string, number>();
  private inBase = 0;

  constructor(private readonly base?: BlobIndex) {
    this.bits = new Uint8Array(Math.ceil((base?.size ?? 0) / 8));
  }

  /** An empty set over the same index. */
  emptyLike(): BlobSet {
    return new BlobSet(this.base);
  }

  get size(): number {
    return this.inBase + this.extra.size;
  }

  /** Entry number in the base index, or -1 (absent there, or beyond the entries when created). */
  private at(type: BlobType, id: BlobId): number {
    const n = this.base ? this.base.position(type, id) : -1;
    return n < this.bits.length * 8 ? n : -1;
  }

  /**
   * has() for an entry in its 46-byte encoding (pack-format.ts) at `at` of `raw`: no hex string
   * or object per entry when prune weighs millions of them.
   */
  hasEntry(raw: Uint8Array, at: number): boolean {
    const n = this.base ? this.base.positionOfKey(raw, at + 14, raw[at]! & 1) : -1;
    if (n >= 0 && n < this.bits.length * 8) return (this.bits[n >>> 3]! & (1 << (n & 7))) !== 0;
    return this.extra.has(raw[at] === 1 ? "tree" : "data", toHex(raw.subarray(at + 14, at + 46)));
  }

  has(type: BlobType, id: BlobId): boolean {
    const n = this.at(type, id);
    return n >= 0 ? (this.bits[n >>> 3]! & (1 << (n & 7))) !== 0 : this.extra.has(type, id);
  }

  private packNumber(pack: string): number {
    let n = this.packs.get(pack);
    if (n === undefined) {
      n = this.packList.push(pack) - 1;
      this.packs.set(pack, n);
    }
    return n;
  }

  /** Adds the pair, remembering `pack` as where it lives; false when already present. */
  add(type: BlobType, id: BlobId, pack = ""): boolean {
    const n = this.at(type, id);
    return n >= 0 ? this.addAt(n, pack) : this.addExtra(type, id, pack);
  }

  /** add() for an entry in its 46-byte encoding at `at` of `raw` (see hasEntry). */
  addEntry(raw: Uint8Array, at: number, pack = ""): boolean {
    const n = this.base ? this.base.positionOfKey(raw, at + 14, raw[at]! & 1) : -1;
    if (n >= 0 && n < this.bits.length * 8) return this.addAt(n, pack);
    return this.addExtra(raw[at] === 1 ? "tree" : "data", toHex(raw.subarray(at + 14, at + 46)), pack);
  }

  private addExtra(type: BlobType, id: BlobId, pack: string): boolean {
    const p = this.extra.addPack({ id: pack, size: 0, salt: new Uint8Array(0) });
    return this.extra.add(p, { type, id, offset: 0, length: 0, rawLength: 0, compression: 0 });
  }

  private addAt(n: number, pack: string): boolean {
    if ((this.bits[n >>> 3]! & (1 << (n & 7))) !== 0) return false;
    this.bits[n >>> 3]! |= 1 << (n & 7);
    this.inBase++;
    if (pack !== "") {
      this.packAt ??= new Int32Array(this.bits.length * 8);
      this.packAt[n] = this.packNumber(pack) + 1;
    }
    return true;
  }

  /** The pack recorded by add, or undefined when absent. */
  packOf(type: BlobType, id: BlobId): string | undefined {
    const n = this.at(type, id);
    if (n < 0) return this.extra.get(type, id)?.pack;
    if ((this.bits[n >>> 3]! & (1 << (n & 7))) === 0) return undefined;
    const p = this.packAt?.[n] ?? 0;
    return p === 0 ? "" : this.packList[p - 1];
  }

  *entries(): IterableIterator<{ type: BlobType; id: BlobId }> {
    for (let n = 0; n < this.bits.length * 8; n++) {
      if ((this.bits[n >>> 3]! & (1 << (n & 7))) === 0) continue;
      const e = this.base!.entryAt(n);
      yield { type: e.type, id: e.id };
    }
    for (const e of this.extra.entries()) yield { type: e.type, id: e.id };
  }
}
