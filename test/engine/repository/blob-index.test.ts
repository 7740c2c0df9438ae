import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { newMasterKeys } from "../../../src/engine/crypto/keys.ts";
import { BlobIndex } from "../../../src/engine/repository/blob-index.ts";
import { decodeIndex, encodeIndex, visitIndex } from "../../../src/engine/repository/index-file.ts";
import type { PackEntry } from "../../../src/engine/repository/pack-format.ts";
import { IntegrityError } from "../../../src/util/errors.ts";

const hex = () => randomBytes(32).toString("hex");

function entry(i: number, id = hex()): PackEntry {
  return {
    type: i % 3 === 0 ? "tree" : "data",
    id,
    offset: i * 10,
    length: 10,
    rawLength: 20 + i,
    compression: (i % 2) as 0 | 1,
  };
}

describe("BlobIndex", () => {
  it("stores and finds many entries through growth", () => {
    const index = new BlobIndex();
    const p0 = index.addPack({ id: hex(), size: 1, salt: new Uint8Array(16) });
    const p1 = index.addPack({ id: hex(), size: 2, salt: new Uint8Array(16).fill(1) });
    const entries = Array.from({ length: 5000 }, (_, i) => entry(i));
    for (const [i, e] of entries.entries()) expect(index.add(i % 2 ? p1 : p0, e)).toBe(true);
    expect(index.size).toBe(5000);
    for (const [i, e] of entries.entries()) {
      expect(index.get(e.type, e.id)).toEqual({ ...e, pack: index.packs()[i % 2]!.id });
    }
    expect([...index.entries()]).toHaveLength(5000);
  });

  it("keeps the first location of a duplicate and separates types", () => {
    const index = new BlobIndex();
    const pack = { id: hex(), size: 1, salt: new Uint8Array(16) };
    const p = index.addPack(pack);
    expect(index.addPack(pack)).toBe(p);
    const id = hex();
    expect(index.add(p, { ...entry(1, id), type: "data" })).toBe(true);
    expect(index.add(p, { ...entry(2, id), type: "data" })).toBe(false);
    expect(index.add(p, { ...entry(3, id), type: "tree" })).toBe(true);
    expect(index.get("data", id)?.offset).toBe(10);
    expect(index.get("tree", id)?.offset).toBe(30);
    expect(index.has("data", "zz")).toBe(false);
    expect(index.get("data", "Q".repeat(64))).toBeUndefined();
    expect(index.pack(pack.id)).toBe(pack);
    expect(index.hasPack(pack.id)).toBe(true);
    expect(() => index.add(p, entry(1, "nope"))).toThrow();
  });
});

describe("BlobIndex at scale", () => {
  it("loads encoded entries across column chunks as add() does, with stable entry numbers", () => {
    const keys = { encrypt: null, mac: new Uint8Array(32) };
    const packs = Array.from({ length: 3 }, (_, p) => ({
      id: hex(),
      size: 10 * 70_000 + 1000,
      salt: new Uint8Array(16).fill(p),
      entries: Array.from({ length: 50_000 }, (_, i) => entry(i)),
    }));
    const loaded = new BlobIndex();
    visitIndex(encodeIndex({ supersedes: [], packs }, keys), keys, (p) =>
      loaded.addEncoded(loaded.addPack({ id: p.id, size: p.size, salt: p.salt }), p.raw, p.count),
    );
    const added = new BlobIndex();
    for (const p of packs) {
      const n = added.addPack({ id: p.id, size: p.size, salt: p.salt });
      for (const e of p.entries) added.add(n, e);
    }
    expect(loaded.size).toBe(150_000);
    // One assertion over all entries: 450,000 expect() calls took most of the run.
    let n = 0;
    const wrong: string[] = [];
    for (const p of packs) {
      for (const e of p.entries) {
        const at = loaded.entryAt(n);
        const same = at.id === e.id && at.pack === p.id && at.offset === e.offset && at.type === e.type;
        if (loaded.position(e.type, e.id) !== n || !same || added.position(e.type, e.id) !== n)
          wrong.push(e.id);
        n++;
      }
    }
    expect(wrong).toEqual([]);
    expect(loaded.entryAt(149_999)).toEqual({ ...packs[2]!.entries[49_999]!, pack: packs[2]!.id });
    expect(loaded.position("data", hex())).toBe(-1);
  });

  it("refuses an index entry with an unknown type or reaching past its pack", () => {
    const keys = { encrypt: null, mac: new Uint8Array(32) };
    const pack = { id: hex(), size: 100, salt: new Uint8Array(16), entries: [entry(1)] };
    const ok = encodeIndex({ supersedes: [], packs: [pack] }, keys);
    expect(() => visitIndex(ok, keys, () => {})).not.toThrow();
    const far = { ...pack, entries: [{ ...entry(1), offset: 90 }] };
    expect(() => visitIndex(encodeIndex({ supersedes: [], packs: [far] }, keys), keys, () => {})).toThrow(
      /points past the end/,
    );
  });
});

describe("index files", () => {
  it("round-trip packs and entries, encrypted and not", () => {
    const file = {
      supersedes: [hex()],
      packs: [
        { id: hex(), size: 12345, salt: new Uint8Array(randomBytes(16)), entries: [entry(0), entry(1)] },
      ],
    };
    for (const keys of [newMasterKeys(), { encrypt: null, mac: new Uint8Array(32) }]) {
      expect(decodeIndex(encodeIndex(file, keys), keys)).toEqual(file);
    }
  });

  it("reject damaged bytes", () => {
    const keys = { encrypt: null, mac: new Uint8Array(32) };
    const bytes = encodeIndex({ supersedes: [], packs: [] }, keys);
    expect(() => decodeIndex(bytes.subarray(0, 3), keys)).toThrow(IntegrityError);
    const bad = bytes.slice();
    bad[0] = 7;
    expect(() => decodeIndex(bad, keys)).toThrow(IntegrityError);
    const enc = newMasterKeys();
    expect(() => decodeIndex(encodeIndex({ supersedes: [], packs: [] }, enc), newMasterKeys())).toThrow(
      IntegrityError,
    );
  });
});
