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
  it("wrap master keys under a passphrase with stored scrypt parameters", async () => {
    const master = newMasterKeys();
    const file = await wrapMasterKeys(master, "pässword", meta, params);
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
    expect(await unwrapMasterKeys(parsed, "pässword")).toEqual(master);
    // NFC normalisation: the decomposed form of the same passphrase works too.
    expect(await unwrapMasterKeys(parsed, "pa\u0308ssword")).toEqual(master);
    expect(await unwrapMasterKeys(parsed, "password")).toBeNull();
  });

  it("reject malformed key objects and unsafe parameters", async () => {
    expect(() => parseKeyFile(utf8("nope"))).toThrow(IntegrityError);
    expect(() => parseKeyFile(utf8('{"version":2}'))).toThrow(IntegrityError);
    const file = await wrapMasterKeys(newMasterKeys(), "pw", meta, params);
    await expect(unwrapMasterKeys({ ...file, N: 1000 }, "pw")).rejects.toThrow(IntegrityError);
    await expect(unwrapMasterKeys({ ...file, N: 2 ** 30 }, "pw")).rejects.toThrow(IntegrityError);
    await expect(wrapMasterKeys(newMasterKeys(), "", meta, params)).rejects.toThrow(ValidationError);
    await expect(
      wrapMasterKeys({ encrypt: null, mac: new Uint8Array(32) }, "pw", meta, params),
    ).rejects.toThrow(ValidationError);
  });

  it("derive a key off the event loop: timers keep firing while a costly derivation runs", async () => {
    // 512 MiB-seconds of work (N=2^17, r=8, p=4): hundreds of milliseconds on any machine. Done
    // synchronously, no timer could fire before it resolved; on the thread pool, many do.
    const file = await wrapMasterKeys(newMasterKeys(), "pw", meta, params);
    const costly = { ...file, N: 2 ** 17, r: 8, p: 4 };
    const events: string[] = [];
    let ticking = true;
    const tick = () => {
      events.push("tick");
      if (ticking) setTimeout(tick, 1);
    };
    setTimeout(tick, 1);
    const derived = unwrapMasterKeys(costly, "pw").then((keys) => {
      events.push("derived");
      return keys;
    });
    // The wrong parameters for this key object: it does not open (null), after the full derivation.
    expect(await derived).toBeNull();
    ticking = false;
    expect(events.indexOf("derived")).toBeGreaterThan(0);
    expect(
      events.slice(0, events.indexOf("derived")).filter((e) => e === "tick").length,
    ).toBeGreaterThanOrEqual(3);
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
