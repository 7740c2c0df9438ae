import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { addKey } from "../../../src/engine/repository/key-admin.ts";
import { repositoryExists } from "../../../src/engine/repository/open.ts";
import { parseSnapshotRef, pickSnapshotId } from "../../../src/engine/repository/snapshots.ts";
import type { Backend } from "../../../src/storage/backend.ts";
import { createMemoryBackend } from "../../../src/storage/memory.ts";
import {
  IntegrityError,
  NotFoundError,
  ValidationError,
  WrongPasswordError,
} from "../../../src/util/errors.ts";
import { BACKENDS, FAST_SCRYPT, flipByte, init, mixed, open, snapshotInput } from "./fixtures.ts";

async function allObjects(backend: Backend): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for await (const o of backend.list("")) out.set(o.name, await backend.get(o.name));
  return out;
}

for (const kind of BACKENDS) {
  describe(`repository on ${kind.name}`, () => {
    let backend: Backend;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ backend, cleanup } = await kind.make());
    });
    afterEach(async () => cleanup());

    it("initialises, saves blobs and a snapshot, and reopens with the same password", async () => {
      expect(await repositoryExists(backend)).toBe(false);
      const repo = await init(backend, "pw", { workers: 2, packSize: 256 * 1024 });
      expect(repo.encrypted).toBe(true);
      expect(repo.chunker).toMatchObject({ min: 512 * 1024, avg: 1024 * 1024, max: 8 * 1024 * 1024 });
      expect(repo.chunker.seed).toMatch(/^[0-9a-f]{64}$/);
      const blobs = Array.from({ length: 12 }, (_, i) => mixed(100_000 + i, i));
      for (const b of blobs) await repo.saveBlob("data", repo.blobId(b), b);
      const tree = await repo.saveTree({ nodes: [] });
      await repo.flush();
      const snap = await repo.saveSnapshot(snapshotInput(tree));
      await repo.close();

      expect(await repositoryExists(backend)).toBe(true);
      const again = await open(backend, "pw");
      expect(again.id).toBe(repo.id);
      expect(again.chunker).toEqual(repo.chunker);
      for (const b of blobs) expect(await again.loadBlob("data", again.blobId(b))).toEqual(b);
      expect((await again.listSnapshots()).map((s) => s.id)).toEqual([snap.id]);
      expect(await again.loadTree(tree)).toEqual({ nodes: [] });
      await again.close();
    });

    it("rejects a wrong password and a second init", async () => {
      const repo = await init(backend, "right");
      await repo.close();
      await expect(open(backend, "wrong")).rejects.toThrow(WrongPasswordError);
      await expect(open(backend, "wrong")).rejects.toThrow("wrong password or no key found");
      await expect(init(backend, "right")).rejects.toThrow(ValidationError);
      await expect(init(backend, "right")).rejects.toThrow("repository already initialized");
    });
  });
}

describe("repository (memory backend)", () => {
  it("refuses missing, foreign-format and damaged configs", async () => {
    const backend = createMemoryBackend();
    await expect(open(backend, "pw")).rejects.toThrow(NotFoundError);
    await expect(open(backend, "pw")).rejects.toThrow("no repository at memory:");
    (await init(backend, "pw")).close();
    const good = backend.objects.get("config")!;
    const env = JSON.parse(new TextDecoder().decode(good));
    backend.objects.set("config", new TextEncoder().encode(JSON.stringify({ ...env, format: 2 })));
    await expect(open(backend, "pw")).rejects.toThrow(/format 2 is not supported/);
    backend.objects.set("config", new TextEncoder().encode("not json"));
    await expect(open(backend, "pw")).rejects.toThrow(IntegrityError);
    backend.objects.set("config", new TextEncoder().encode(JSON.stringify({ ...env, data: "AAAA" })));
    await expect(open(backend, "pw")).rejects.toThrow(IntegrityError);
    await expect(init(createMemoryBackend(), "pw", { chunker: { avg: 1000 } })).rejects.toThrow(
      ValidationError,
    );
    const untouched = createMemoryBackend();
    await expect(init(untouched, "pw", { compression: 99 })).rejects.toThrow(ValidationError);
    expect(untouched.objects.size).toBe(0);
  });

  it("opens with either of two keys wrapping the same master keys", async () => {
    const backend = createMemoryBackend();
    const repo = await init(backend, "first");
    await addKey(repo, "second", { scrypt: FAST_SCRYPT });
    const data = mixed(5000);
    await repo.saveBlob("data", repo.blobId(data), data);
    await repo.flush();
    await repo.close();
    for (const pw of ["first", "second"]) {
      const r = await open(backend, pw);
      expect(await r.loadBlob("data", r.blobId(data))).toEqual(data);
      await r.close();
    }
  });

  it.each([
    ["off", 0],
    ["auto", 1],
    ["max", 1],
    [5, 1],
  ] as const)("round-trips blobs with compression %s", async (mode, compressed) => {
    const backend = createMemoryBackend();
    const repo = await init(backend, "pw", { compression: mode });
    const text = new TextEncoder().encode("abc".repeat(100_000));
    const noise = new Uint8Array(randomBytes(200_000));
    const empty = new Uint8Array(0);
    for (const b of [text, noise, empty]) {
      expect((await repo.saveBlob("data", repo.blobId(b), b)).added).toBe(true);
    }
    await repo.flush();
    expect(repo.lookup("data", repo.blobId(text))?.compression).toBe(compressed);
    // Incompressible data is stored as is, whatever the mode.
    expect(repo.lookup("data", repo.blobId(noise))?.compression).toBe(0);
    for (const b of [text, noise, empty]) expect(await repo.loadBlob("data", repo.blobId(b))).toEqual(b);
    await repo.close();
  });

  it("stores a blob saved twice only once", async () => {
    const backend = createMemoryBackend();
    const repo = await init(backend, "pw");
    const b = mixed(50_000);
    const id = repo.blobId(b);
    const first = await repo.saveBlob("data", id, b);
    const second = await repo.saveBlob("data", id, b);
    expect(first.added).toBe(true);
    expect(first.storedBytes).toBeGreaterThan(0);
    expect(second).toEqual({ added: false, storedBytes: 0 });
    expect(repo.hasBlob("data", id)).toBe(true);
    expect(repo.hasBlob("tree", id)).toBe(false);
    await repo.flush();
    expect((await repo.saveBlob("data", id, b)).added).toBe(false);
    expect([...repo.index.entries()]).toHaveLength(1);
    await repo.close();
  });

  it("loads a blob that is still only in an open pack by flushing first", async () => {
    const repo = await init(createMemoryBackend(), "pw", { workers: 1 });
    const b = mixed(1000);
    await repo.saveBlob("data", repo.blobId(b), b);
    expect(await repo.loadBlob("data", repo.blobId(b))).toEqual(b);
    await expect(repo.loadBlob("data", "0".repeat(64))).rejects.toThrow(NotFoundError);
    await repo.close();
  });

  it("never stores plaintext: a marker saved as a blob appears in no object", async () => {
    const backend = createMemoryBackend();
    const repo = await init(backend, "pw", { compression: "off" });
    const marker = new TextEncoder().encode("PLAINTEXT-MARKER-0xC0FFEE-".repeat(40));
    await repo.saveBlob("data", repo.blobId(marker), marker);
    await repo.saveTree({
      nodes: [
        {
          name: "PLAINTEXT-MARKER-name",
          type: "symlink",
          mode: 0o777,
          uid: 0,
          gid: 0,
          mtime: "0",
          ctime: "0",
          inode: 1,
          device: 1,
          size: 0,
          target: "x",
        },
      ],
    });
    await repo.flush();
    await repo.saveSnapshot({ ...snapshotInput(repo.blobId(marker)), hostname: "PLAINTEXT-MARKER-host" });
    await repo.close();
    for (const [name, bytes] of await allObjects(backend)) {
      expect(Buffer.from(bytes).includes("PLAINTEXT-MARKER"), name).toBe(false);
    }
  });

  it("unencrypted repositories still verify blob ids and open without a password", async () => {
    const backend = createMemoryBackend();
    const repo = await init(backend, "", { encryption: false });
    expect(repo.encrypted).toBe(false);
    const b = new TextEncoder().encode("hello plain world ".repeat(100));
    await repo.saveBlob("data", repo.blobId(b), b);
    await repo.flush();
    await repo.close();
    const again = await open(backend, "anything");
    expect(again.blobId(b)).toBe(repo.blobId(b));
    expect(await again.loadBlob("data", again.blobId(b))).toEqual(b);
    // Flip a byte of the stored (compressed, unencrypted) blob: the HMAC id check catches it.
    const e = again.lookup("data", again.blobId(b))!;
    const name = `data/${e.pack.slice(0, 2)}/${e.pack}`;
    flipByte(backend.objects.get(name)!, e.offset + 5);
    await expect(again.loadBlob("data", again.blobId(b))).rejects.toThrow(IntegrityError);
    await again.close();
  });

  it("detects a flipped byte in a pack when loading the blob", async () => {
    const backend = createMemoryBackend();
    const repo = await init(backend, "pw");
    const b = mixed(20_000);
    const id = repo.blobId(b);
    await repo.saveBlob("data", id, b);
    await repo.flush();
    const e = repo.lookup("data", id)!;
    flipByte(backend.objects.get(`data/${e.pack.slice(0, 2)}/${e.pack}`)!, e.offset + 40);
    const err = await repo.loadBlob("data", id).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(IntegrityError);
    expect((err as Error).message).toContain(e.pack);
    await repo.close();
  });

  it("finds snapshots by id, prefix and latest", async () => {
    const backend = createMemoryBackend();
    const repo = await init(backend, "pw");
    const tree = await repo.saveTree({ nodes: [] });
    await repo.flush();
    const a = await repo.saveSnapshot(snapshotInput(tree, "2026-01-01T00:00:00.000Z"));
    const b = await repo.saveSnapshot({
      ...snapshotInput(tree, "2026-02-01T00:00:00.000Z"),
      hostname: "other",
    });
    expect((await repo.findSnapshot("latest")).id).toBe(b.id);
    expect((await repo.findSnapshot("latest", undefined, { hostname: "host" })).id).toBe(a.id);
    expect((await repo.findSnapshot(a.id)).id).toBe(a.id);
    expect((await repo.findSnapshot(b.id.slice(0, 8))).id).toBe(b.id);
    await expect(repo.findSnapshot("ffffffffffff")).rejects.toThrow(NotFoundError);
    await expect(repo.findSnapshot("abc")).rejects.toThrow(ValidationError);
    expect((await repo.findSnapshot(a.id.toUpperCase())).id).toBe(a.id);
    await expect(repo.findSnapshot("latest!")).rejects.toThrow(/is not a snapshot id/);
    await expect(repo.findSnapshot(`${a.id}0`)).rejects.toThrow(/is not a snapshot id/);
    await expect(repo.findSnapshot("latest", undefined, { hostname: "none" })).rejects.toThrow(NotFoundError);
    await repo.close();
  });
});

describe("snapshot references", () => {
  it("an ambiguous prefix names the candidates; too short or non-hex is refused", () => {
    const ids = [`abcdef01${"1".repeat(56)}`, `abcdef01${"2".repeat(56)}`, `12345678${"3".repeat(56)}`];
    expect(pickSnapshotId(ids, "abcdef011")).toBe(ids[0]);
    expect(() => pickSnapshotId(ids, "abcdef01")).toThrow(
      "snapshot prefix abcdef01 is ambiguous: it matches 2 snapshots (abcdef011111, abcdef012222); give more characters",
    );
    expect(() => pickSnapshotId(ids, "ffffffff")).toThrow(NotFoundError);
    expect(parseSnapshotRef("ABCDEF01")).toBe("abcdef01");
    expect(parseSnapshotRef("latest")).toBe("latest");
    expect(() => parseSnapshotRef("abcdef0")).toThrow(/is too short/);
    expect(() => parseSnapshotRef("")).toThrow(/is not a snapshot id/);
  });
});
