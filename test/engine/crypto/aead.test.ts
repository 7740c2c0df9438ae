import { describe, expect, it } from "vitest";
import {
  AEAD_OVERHEAD,
  concat,
  deriveSubkey,
  gcmOpen,
  gcmSeal,
  hmacSha256Hex,
  isHexId,
  openObject,
  random,
  sealObject,
  sha256Hex,
  utf8,
} from "../../../src/engine/crypto/aead.ts";
import { IntegrityError } from "../../../src/util/errors.ts";

describe("aead", () => {
  const key = random(32);

  it("seals with fresh nonces and opens only with the right key and AAD", () => {
    const msg = utf8("hello");
    const a = gcmSeal(key, msg, utf8("x"));
    const b = gcmSeal(key, msg, utf8("x"));
    expect(a.byteLength).toBe(msg.byteLength + AEAD_OVERHEAD);
    expect(a).not.toEqual(b);
    expect(gcmOpen(key, a, utf8("x"))).toEqual(msg);
    expect(() => gcmOpen(key, a, utf8("y"))).toThrow(IntegrityError);
    expect(() => gcmOpen(random(32), a, utf8("x"))).toThrow(IntegrityError);
    expect(() => gcmOpen(key, a.subarray(0, 10))).toThrow("too short");
    const tampered = a.slice();
    tampered[13] = (tampered[13] ?? 0) ^ 1;
    expect(() => gcmOpen(key, tampered, utf8("x"))).toThrow(IntegrityError);
  });

  it("binds objects to their kind", () => {
    const sealed = sealObject(key, "snapshot", utf8("{}"));
    expect(openObject(key, "snapshot", sealed)).toEqual(utf8("{}"));
    expect(() => openObject(key, "index", sealed)).toThrow(IntegrityError);
    expect(() => openObject(key, "index", new Uint8Array(5))).toThrow("too short");
  });

  it("derives distinct subkeys per salt and info, and keyed ids", () => {
    const s1 = random(16);
    expect(deriveSubkey(key, s1, "a")).toEqual(deriveSubkey(key, s1, "a"));
    expect(deriveSubkey(key, s1, "a")).not.toEqual(deriveSubkey(key, s1, "b"));
    expect(deriveSubkey(key, s1, "a")).not.toEqual(deriveSubkey(key, random(16), "a"));
    expect(sha256Hex(utf8("abc"))).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(hmacSha256Hex(key, utf8("abc"))).not.toBe(hmacSha256Hex(random(32), utf8("abc")));
    expect(isHexId(sha256Hex(utf8("")))).toBe(true);
    expect(isHexId("xyz")).toBe(false);
    expect(concat([utf8("a"), utf8("bc")])).toEqual(utf8("abc"));
  });
});
