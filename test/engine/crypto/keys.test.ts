import { describe, expect, it } from "vitest";
import { utf8 } from "../../../src/engine/crypto/aead.ts";
import {
  newMasterKeys,
  openWith,
  parseKeyFile,
  sealWith,
  unwrapMasterKeys,
  wrapMasterKeys,
} from "../../../src/engine/crypto/keys.ts";
import { IntegrityError, ValidationError } from "../../../src/util/errors.ts";

const meta = { hostname: "h", username: "u", created: "2026-01-01T00:00:00.000Z" };
const params = { N: 1024, r: 8, p: 1 };

describe("key objects", () => {
  it("wrap master keys under a passphrase with stored scrypt parameters", () => {
    const master = newMasterKeys();
    const file = wrapMasterKeys(master, "pässword", meta, params);
    expect(file).toMatchObject({
      version: 1,
      kdf: "scrypt",
      N: 1024,
      r: 8,
      p: 1,
      hostname: "h",
      username: "u",
    });
    const parsed = parseKeyFile(utf8(JSON.stringify(file)));
    expect(unwrapMasterKeys(parsed, "pässword")).toEqual(master);
    // NFC normalisation: the decomposed form of the same passphrase works too.
    expect(unwrapMasterKeys(parsed, "pa\u0308ssword")).toEqual(master);
    expect(unwrapMasterKeys(parsed, "password")).toBeNull();
  });

  it("reject malformed key objects and unsafe parameters", () => {
    expect(() => parseKeyFile(utf8("nope"))).toThrow(IntegrityError);
    expect(() => parseKeyFile(utf8('{"version":2}'))).toThrow(IntegrityError);
    const file = wrapMasterKeys(newMasterKeys(), "pw", meta, params);
    expect(() => unwrapMasterKeys({ ...file, N: 1000 }, "pw")).toThrow(IntegrityError);
    expect(() => unwrapMasterKeys({ ...file, N: 2 ** 30 }, "pw")).toThrow(IntegrityError);
    expect(() => wrapMasterKeys(newMasterKeys(), "", meta, params)).toThrow(ValidationError);
    expect(() => wrapMasterKeys({ encrypt: null, mac: new Uint8Array(32) }, "pw", meta, params)).toThrow(
      ValidationError,
    );
  });

  it("seal objects only when the repository is encrypted", () => {
    const enc = newMasterKeys();
    const plain = { encrypt: null, mac: new Uint8Array(32) };
    const data = utf8("x");
    expect(sealWith(plain, "lock", data)).toEqual(data);
    expect(openWith(plain, "lock", data)).toEqual(data);
    expect(openWith(enc, "lock", sealWith(enc, "lock", data))).toEqual(data);
  });
});
