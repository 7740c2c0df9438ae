import { describe, expect, it } from "vitest";
import { readPackHeader } from "../../../src/engine/repository/pack-format.ts";
import { type CoreReply, type FinishedPack, SealCore } from "../../../src/engine/repository/seal-core.ts";
import { createMemoryBackend } from "../../../src/storage/memory.ts";
import { IntegrityError } from "../../../src/util/errors.ts";
import { flipByte, init, mixed } from "./fixtures.ts";

function readerOf(bytes: Uint8Array) {
  return async (offset: number, length: number) => bytes.subarray(offset, offset + length);
}

describe("pack headers", () => {
  it("let the index be rebuilt from the packs alone", async () => {
    const backend = createMemoryBackend();
    const repo = await init(backend, "pw", { packSize: 64 * 1024 });
    for (let i = 0; i < 20; i++) {
      const b = mixed(20_000, i);
      await repo.saveBlob(i % 4 === 0 ? "tree" : "data", repo.blobId(b), b);
    }
    await repo.flush();
    const rebuilt: string[] = [];
    for await (const o of backend.list("data/")) {
      const get = (offset: number, length: number) => backend.get(o.name, { offset, length });
      const { entries } = await readPackHeader(get, o.size, repo.masterKeys.encrypt);
      // Data and tree blobs never share a pack.
      expect(new Set(entries.map((e) => e.type)).size).toBe(1);
      const pack = o.name.split("/")[2]!;
      for (const e of entries) rebuilt.push(JSON.stringify({ ...e, pack }));
    }
    const indexed = [...repo.index.entries()].map((e) =>
      JSON.stringify({
        type: e.type,
        compression: e.compression,
        offset: e.offset,
        length: e.length,
        rawLength: e.rawLength,
        id: e.id,
        pack: e.pack,
      }),
    );
    expect(rebuilt.sort()).toEqual(indexed.sort());
    expect(indexed).toHaveLength(20);
    expect(repo.index.packs().length).toBeGreaterThan(2);
    await repo.close();
  });

  function onePack(encKey: Uint8Array | null): FinishedPack {
    const out: CoreReply[] = [];
    const core = new SealCore((r) => out.push(r));
    core.handle({ kind: "init", encKey, macKey: null, packSize: 1 << 20 });
    core.handle({
      kind: "blob",
      seq: 1,
      type: "data",
      id: "ab".repeat(32),
      plaintext: mixed(3000),
      level: 3,
    });
    core.handle({ kind: "flush", seq: 2 });
    expect(out.map((r) => r.kind)).toEqual(["added", "pack", "flushed"]);
    return (out[1] as Extract<CoreReply, { kind: "pack" }>).pack;
  }

  it("rejects a pack whose header or trailer was altered", async () => {
    const key = new Uint8Array(32).fill(7);
    const pack = onePack(key);
    const ok = await readPackHeader(readerOf(pack.bytes), pack.bytes.byteLength, key);
    expect(ok.entries).toHaveLength(1);
    expect(ok.salt).toEqual(pack.salt);

    const badHeader = pack.bytes.slice();
    flipByte(badHeader, badHeader.byteLength - 30);
    await expect(readPackHeader(readerOf(badHeader), badHeader.byteLength, key)).rejects.toThrow(
      IntegrityError,
    );

    const badMagic = pack.bytes.slice();
    flipByte(badMagic, badMagic.byteLength - 1);
    await expect(readPackHeader(readerOf(badMagic), badMagic.byteLength, key)).rejects.toThrow("bad magic");

    await expect(readPackHeader(readerOf(pack.bytes), 10, key)).rejects.toThrow(IntegrityError);
    await expect(
      readPackHeader(readerOf(pack.bytes), pack.bytes.byteLength, new Uint8Array(32)),
    ).rejects.toThrow(IntegrityError);
  });

  it("reads unencrypted pack headers without a key", async () => {
    const pack = onePack(null);
    const { entries, salt } = await readPackHeader(readerOf(pack.bytes), pack.bytes.byteLength, null);
    expect(salt).toEqual(new Uint8Array(16));
    expect(entries[0]).toMatchObject({ type: "data", id: "ab".repeat(32), offset: 0, rawLength: 3000 });
  });
});
