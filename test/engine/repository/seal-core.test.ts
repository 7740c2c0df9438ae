import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { readPackHeader } from "../../../src/engine/repository/pack-format.ts";
import {
  type CoreReply,
  type FinishedPack,
  MAX_PACK_BLOBS,
  packCapacity,
  SealCore,
} from "../../../src/engine/repository/seal-core.ts";

const KEY = new Uint8Array(32).fill(3);
const PACK = 100_000;

function core() {
  const out: CoreReply[] = [];
  const c = new SealCore((r) => out.push(r));
  c.handle({ kind: "init", encKey: KEY, macKey: null, packSize: PACK });
  let seq = 0;
  const add = (type: "data" | "tree", plaintext: Uint8Array) =>
    c.handle({ kind: "blob", seq: ++seq, type, id: randomBytes(32).toString("hex"), plaintext, level: 3 });
  const packs = () =>
    out.filter((r): r is Extract<CoreReply, { kind: "pack" }> => r.kind === "pack").map((r) => r.pack);
  return { c, out, add, packs };
}

async function entriesOf(pack: FinishedPack) {
  const get = async (offset: number, length: number) => pack.bytes.subarray(offset, offset + length);
  return (await readPackHeader(get, pack.bytes.byteLength, KEY)).entries;
}

describe("seal core packs", () => {
  it("keeps every pack within its buffer capacity, closing it before a blob would overflow", async () => {
    const { c, add, packs } = core();
    for (let i = 0; i < 12; i++) add("data", new Uint8Array(randomBytes(7_000 + i * 3_000)));
    c.handle({ kind: "flush", seq: 99 });
    expect(packs().length).toBeGreaterThan(2);
    for (const p of packs()) {
      expect(p.bytes.byteLength).toBeLessThanOrEqual(packCapacity(PACK));
      expect((await entriesOf(p)).length).toBe(p.entries.length);
    }
  });

  it("ends a pack at MAX_PACK_BLOBS blobs however small they are (bounds per-pack entry lists)", async () => {
    const out: CoreReply[] = [];
    const c = new SealCore((r) => out.push(r));
    c.handle({ kind: "init", encKey: KEY, macKey: null, packSize: 64 * 1024 * 1024 });
    const tiny = new Uint8Array([1, 2, 3]);
    for (let i = 0; i <= MAX_PACK_BLOBS; i++) {
      c.handle({
        kind: "blob",
        seq: i,
        type: "data",
        id: i.toString(16).padStart(64, "0"),
        plaintext: tiny.slice(),
        level: 0,
      });
    }
    c.handle({ kind: "flush", seq: -1 });
    const packs = out
      .filter((r): r is Extract<CoreReply, { kind: "pack" }> => r.kind === "pack")
      .map((r) => r.pack);
    expect(packs.map((p) => p.entries.length)).toEqual([MAX_PACK_BLOBS, 1]);
    expect(await entriesOf(packs[0]!)).toHaveLength(MAX_PACK_BLOBS);
  });

  it("refills a recycled buffer, and a blob larger than a pack gets a pack of its own", async () => {
    const { c, add, packs } = core();
    add("data", new Uint8Array(randomBytes(PACK)));
    const first = packs()[0]!;
    const buffer = first.bytes.buffer as ArrayBuffer;
    c.handle({ kind: "recycle", buffer });
    add("data", new Uint8Array(randomBytes(500)));
    add("data", new Uint8Array(randomBytes(3 * PACK)));
    c.handle({ kind: "flush", seq: 1 });
    const [, second, third] = packs();
    expect(second!.bytes.buffer).toBe(buffer);
    expect(second!.entries).toHaveLength(1);
    expect(third!.entries).toHaveLength(1);
    expect(third!.bytes.byteLength).toBeGreaterThan(3 * PACK);
    expect((await entriesOf(third!))[0]!.rawLength).toBe(3 * PACK);
  });

  it("grows tree packs from a small buffer and hands plaintext buffers back", async () => {
    const { c, out, add, packs } = core();
    const plain = new Uint8Array(200_000).fill(65);
    add("tree", plain);
    c.handle({ kind: "flush", seq: 1 });
    const added = out.find((r) => r.kind === "added") as Extract<CoreReply, { kind: "added" }>;
    expect(added.buffer).toBe(plain.buffer);
    expect(packs()[0]!.type).toBe("tree");
    expect((await entriesOf(packs()[0]!))[0]!.compression).toBe(1);
  });

  it("seals a batch of small blobs and frees the batch's buffer at once", async () => {
    const { c, out, packs } = core();
    const blobs = [new Uint8Array(300).fill(1), new Uint8Array(5_000).fill(2), new Uint8Array(70).fill(3)];
    const data = new Uint8Array(blobs.reduce((n, b) => n + b.byteLength, 0));
    const ends: number[] = [];
    for (const b of blobs) {
      data.set(b, ends.at(-1) ?? 0);
      ends.push((ends.at(-1) ?? 0) + b.byteLength);
    }
    const ids = blobs.map(() => randomBytes(32).toString("hex"));
    c.handle({
      kind: "blobs",
      seqs: [1, 2, 3],
      types: ["data", "data", "data"],
      ids,
      ends,
      levels: [3, 3, 3],
      data,
    });
    const reply = out.find((r) => r.kind === "addedMany") as Extract<CoreReply, { kind: "addedMany" }>;
    expect(reply.errors).toEqual([null, null, null]);
    expect(reply.stored.every((n) => n > 0)).toBe(true);
    expect(data.byteLength).toBe(0); // detached: the core owned it, and it is no longer needed
    c.handle({ kind: "flush", seq: 4 });
    expect((await entriesOf(packs()[0]!)).map((e) => e.id)).toEqual(ids);
  });
});
