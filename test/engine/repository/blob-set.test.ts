import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { BlobIndex } from "../../../src/engine/repository/blob-index.ts";
import { BlobSet } from "../../../src/engine/repository/blob-set.ts";

const hex = () => randomBytes(32).toString("hex");

function indexOf(ids: string[]): BlobIndex {
  const index = new BlobIndex();
  const p = index.addPack({ id: hex(), size: 1 << 30, salt: new Uint8Array(16) });
  for (const [i, id] of ids.entries()) {
    index.add(p, { type: i % 2 ? "tree" : "data", id, offset: i, length: 1, rawLength: 1, compression: 0 });
  }
  return index;
}

describe("BlobSet", () => {
  it("holds indexed blobs as bits and others apart, with the pack each was recorded in", () => {
    const ids = Array.from({ length: 1000 }, hex);
    const set = new BlobSet(indexOf(ids));
    const stranger = hex();
    expect(set.add("data", ids[0]!, "pack-a")).toBe(true);
    expect(set.add("data", ids[0]!, "pack-b")).toBe(false);
    expect(set.add("tree", ids[1]!)).toBe(true);
    // The index holds ids[1] as a tree: as data it is a different blob, kept apart.
    expect(set.add("data", ids[1]!, "pack-c")).toBe(true);
    expect(set.add("data", stranger, "pack-b")).toBe(true);
    expect(set.add("data", stranger)).toBe(false);
    expect(set.size).toBe(4);
    expect(set.has("data", ids[0]!)).toBe(true);
    expect(set.has("data", ids[2]!)).toBe(false);
    expect(set.has("tree", stranger)).toBe(false);
    expect(set.packOf("data", ids[0]!)).toBe("pack-a");
    expect(set.packOf("tree", ids[1]!)).toBe("");
    expect(set.packOf("data", ids[1]!)).toBe("pack-c");
    expect(set.packOf("data", stranger)).toBe("pack-b");
    expect(set.packOf("data", ids[2]!)).toBeUndefined();
    const listed = [...set.entries()].map((e) => `${e.type}:${e.id}`).sort();
    expect(listed).toEqual([`data:${ids[0]}`, `tree:${ids[1]}`, `data:${ids[1]}`, `data:${stranger}`].sort());
    const other = set.emptyLike();
    expect(other.size).toBe(0);
    expect(other.add("data", ids[0]!)).toBe(true);
  });

  it("takes entries in their encoded form, indexed or not", () => {
    const ids = Array.from({ length: 10 }, hex);
    const set = new BlobSet(indexOf(ids));
    const stranger = hex();
    const raw = new Uint8Array(3 * 46);
    raw.set(Buffer.from(ids[0]!, "hex"), 14); // data, indexed
    raw[46] = 1;
    raw.set(Buffer.from(ids[1]!, "hex"), 46 + 14); // tree, indexed
    raw.set(Buffer.from(stranger, "hex"), 92 + 14); // data, not indexed
    expect([0, 46, 92].map((at) => set.hasEntry(raw, at))).toEqual([false, false, false]);
    expect([0, 46, 92].map((at) => set.addEntry(raw, at, "p"))).toEqual([true, true, true]);
    expect(set.addEntry(raw, 92, "q")).toBe(false);
    expect([0, 46, 92].map((at) => set.hasEntry(raw, at))).toEqual([true, true, true]);
    expect(set.has("tree", ids[1]!)).toBe(true);
    expect(set.packOf("data", stranger)).toBe("p");
    expect(set.size).toBe(3);
  });

  it("works without an index (every blob kept apart)", () => {
    const set = new BlobSet();
    const id = hex();
    expect(set.add("data", id, "p")).toBe(true);
    expect(set.has("data", id)).toBe(true);
    expect(set.packOf("data", id)).toBe("p");
    expect(set.size).toBe(1);
  });
});
