/**
 * Format stability: a repository written by this code at format 1 is committed under format-v1/.
 * 1) the current code must still read and check it; 2) a reader written from
 * docs/repository-format.md alone (node:crypto and node:zlib only, nothing from src/) must read it,
 * which keeps the document honest.
 */
import { createDecipheriv, createHash, createHmac, hkdfSync, scryptSync } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { zstdDecompressSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { checkRepository } from "../../../src/engine/check.ts";
import { openRepository } from "../../../src/engine/repository/open.ts";
import { createLocalBackend } from "../../../src/storage/local.ts";

const dir = resolve(import.meta.dirname, "format-v1/repo");
const PASSWORD = "format v1 passphrase";

describe("format 1 fixture, read by the current code", () => {
  it("opens, lists, loads and checks clean", async () => {
    const repo = await openRepository(createLocalBackend(dir), PASSWORD, { lock: "none", workers: 0 });
    expect(repo.chunker.seed).toBe("00".repeat(32));
    const [snap] = await repo.listSnapshots();
    expect(snap).toMatchObject({ hostname: "fixture", tags: ["v1"], paths: ["/fixture"] });
    const tree = await repo.loadTree(snap!.tree);
    expect(tree.nodes.map((n) => n.name)).toEqual(["hello.txt", "raw.bin"]);
    const hello = await repo.loadBlob("data", tree.nodes[0]!.content![0]!);
    expect(new TextDecoder().decode(hello)).toBe("hello, backapp format 1\n".repeat(20));
    const result = await checkRepository(repo, { readData: true });
    expect(result.errors).toEqual([]);
    expect(result.packsChecked).toBe(2);
    await repo.close();
  });
});

// ---- an independent reader, from the document only ----

const file = (name: string) => new Uint8Array(readFileSync(join(dir, name)));
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const u32 = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset).getUint32(at, true);
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** §1 OPEN: nonce(12) ‖ ciphertext ‖ tag(16). */
function open(key: Uint8Array, sealed: Uint8Array, aad?: string): Uint8Array {
  const d = createDecipheriv("aes-256-gcm", key, sealed.subarray(0, 12));
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  if (aad !== undefined) d.setAAD(Buffer.from(aad));
  return new Uint8Array(Buffer.concat([d.update(sealed.subarray(12, sealed.length - 16)), d.final()]));
}

const hkdf = (key: Uint8Array, salt: Uint8Array, info: string) =>
  new Uint8Array(hkdfSync("sha256", key, salt, info, 32));

/** §5 sealed objects. */
function openObject(encrypt: Uint8Array, kind: string, stored: Uint8Array): Uint8Array {
  const salt = stored.subarray(0, 16);
  return open(hkdf(encrypt, salt, "backapp v1 object"), stored.subarray(16), `backapp v1 ${kind}`);
}

/** §3: try every key object. */
function masterKeys(password: string): { encrypt: Uint8Array; mac: Uint8Array } {
  for (const name of readdirSync(join(dir, "keys"))) {
    const k = JSON.parse(text(file(`keys/${name}`)));
    const salt = Buffer.from(k.salt, "base64");
    const wrapping = scryptSync(password.normalize("NFC"), salt, 32, {
      N: k.N,
      r: k.r,
      p: k.p,
      maxmem: 1 << 28,
    });
    try {
      const m = JSON.parse(text(open(wrapping, Buffer.from(k.data, "base64"), "backapp v1 key")));
      return { encrypt: Buffer.from(m.encrypt, "base64"), mac: Buffer.from(m.mac, "base64") };
    } catch {}
  }
  throw new Error("wrong password");
}

interface Entry {
  type: number;
  compression: number;
  offset: number;
  length: number;
  rawLength: number;
  id: string;
}

/** §6 entry layout. */
function entry(b: Uint8Array, at: number): Entry {
  return {
    type: b[at]!,
    compression: b[at + 1]!,
    offset: u32(b, at + 2),
    length: u32(b, at + 6),
    rawLength: u32(b, at + 10),
    id: hex(b.subarray(at + 14, at + 46)),
  };
}

/** §7: blob id → pack id, pack salt, entry. */
function readIndex(encrypt: Uint8Array) {
  const out = new Map<string, { pack: string; salt: Uint8Array; e: Entry }>();
  for (const name of readdirSync(join(dir, "index"))) {
    const stored = file(`index/${name}`);
    expect(sha256(stored)).toBe(name);
    const framed = openObject(encrypt, "index", stored);
    const body = framed.subarray(5);
    const p = framed[0] === 1 ? new Uint8Array(zstdDecompressSync(body)) : body;
    expect(p.length).toBe(u32(framed, 1));
    expect(text(p.subarray(0, 4))).toBe("BKIX");
    expect(p[4]).toBe(1);
    let at = 5;
    at += 4 + 32 * u32(p, at);
    const packs = u32(p, at);
    at += 4;
    for (let i = 0; i < packs; i++) {
      const pack = hex(p.subarray(at, at + 32));
      const salt = p.slice(at + 36, at + 52);
      const count = u32(p, at + 52);
      at += 56;
      for (let k = 0; k < count; k++, at += 46) {
        const e = entry(p, at);
        out.set(`${e.type}:${e.id}`, { pack, salt, e });
      }
    }
    expect(at).toBe(p.length);
  }
  return out;
}

describe("format 1 fixture, read by an independent reader written from the document", () => {
  it("decrypts config, snapshot, tree and file content", () => {
    const env = JSON.parse(text(file("config")));
    expect(env).toMatchObject({ format: 1, encrypted: true });
    const keys = masterKeys(PASSWORD);
    expect(() => masterKeys("not it")).toThrow();
    const config = JSON.parse(text(openObject(keys.encrypt, "config", Buffer.from(env.data, "base64"))));
    expect(config).toMatchObject({ version: 1, encryption: true, chunker: { min: 524288, avg: 1048576 } });

    const index = readIndex(keys.encrypt);
    const loadBlob = (type: number, id: string): Uint8Array => {
      const { pack, salt, e } = index.get(`${type}:${id}`)!;
      const packBytes = file(`data/${pack.slice(0, 2)}/${pack}`);
      expect(sha256(packBytes)).toBe(pack);
      // §6 trailer: salt ‖ header_length ‖ "BKP1"; the header lists the same entry.
      const trailer = packBytes.subarray(packBytes.length - 24);
      expect(text(trailer.subarray(20))).toBe("BKP1");
      expect(trailer.subarray(0, 16)).toEqual(salt);
      const k = hkdf(keys.encrypt, salt, "backapp v1 pack");
      const hlen = u32(trailer, 16);
      const header = open(
        k,
        packBytes.subarray(packBytes.length - 24 - hlen, packBytes.length - 24),
        "backapp v1 pack-header",
      );
      expect(header[0]).toBe(1);
      const listed = Array.from({ length: u32(header, 1) }, (_, i) => entry(header, 5 + 46 * i));
      expect(listed).toContainEqual(e);
      const c = open(k, packBytes.subarray(e.offset, e.offset + e.length));
      const plain = e.compression === 1 ? new Uint8Array(zstdDecompressSync(c)) : c;
      expect(plain.length).toBe(e.rawLength);
      expect(createHmac("sha256", keys.mac).update(plain).digest("hex")).toBe(id);
      return plain;
    };

    const [snapName] = readdirSync(join(dir, "snapshots"));
    const stored = file(`snapshots/${snapName}`);
    expect(sha256(stored)).toBe(snapName);
    const snap = JSON.parse(text(openObject(keys.encrypt, "snapshot", stored)));
    expect(snap.time).toBe("2026-01-01T00:00:00.000Z");
    const tree = JSON.parse(text(loadBlob(1, snap.tree)));
    expect(tree.nodes.map((n: { name: string }) => n.name)).toEqual(["hello.txt", "raw.bin"]);
    const content = tree.nodes[0].content.map((id: string) => text(loadBlob(0, id))).join("");
    expect(content).toBe("hello, backapp format 1\n".repeat(20));
    expect(text(loadBlob(0, tree.nodes[1].content[0]))).toBe("incompressible?");
  });
});
