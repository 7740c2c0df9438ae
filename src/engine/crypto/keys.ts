/**
 * Master keys and key objects ("keys/<id>"). A repository has one random master key set; each key
 * object wraps it under a key derived from a passphrase with scrypt, so several passphrases can
 * open the same repository and a passphrase change never re-encrypts data.
 */
import { scrypt, scryptSync } from "node:crypto";
import { IntegrityError, ValidationError } from "../../util/errors.ts";
import {
  fromBase64,
  gcmOpen,
  gcmSeal,
  KEY_BYTES,
  openObject,
  random,
  sealObject,
  toBase64,
  utf8,
} from "./aead.ts";

/** The secrets of a repository. `encrypt` is null for unencrypted repositories. */
export interface MasterKeys {
  /** AES-256 master key; packs and objects use HKDF subkeys of it. */
  encrypt: Uint8Array | null;
  /** HMAC-SHA-256 key for blob ids (stored in the clear in unencrypted repositories). */
  mac: Uint8Array;
}

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** Format-1 keys written before calibration: about 70 ms and 32 MiB on the reference machine. */
export const LEGACY_SCRYPT: ScryptParams = { N: 2 ** 15, r: 8, p: 1 };

/** OWASP's scrypt floor, and exactly the 128 MiB new keys may use (128·N·r bytes). */
export const FLOOR_SCRYPT: ScryptParams = { N: 2 ** 17, r: 8, p: 1 };

/** What a new key should cost to derive on this machine. */
const TARGET_MS = 500;

let calibrated: ScryptParams | undefined;
let pinned: ScryptParams | undefined;

/**
 * Parameters for new keys: memory is held at the floor's 128 MiB (N=2^17, r=8) and p, which costs
 * time but no memory, is raised until one derivation takes about half a second (p ≤ 16, the limit
 * readers accept). Measured once per process on a 16 MiB derivation (≈ 1/8 of the work of p=1),
 * so calibration costs tens of milliseconds. `pinScryptParams` overrides it (tests, weak machines).
 */
export function newKeyScryptParams(): ScryptParams {
  if (pinned) return pinned;
  if (!calibrated) {
    const probe = { N: 2 ** 14, r: 8, p: 1 };
    // A duration of local CPU work, not a time of day: performance.now, not the Clock.
    const start = performance.now();
    deriveWrappingKey("calibration", new Uint8Array(16), probe);
    const perP = Math.max(1, (performance.now() - start) * (FLOOR_SCRYPT.N / probe.N));
    const p = Math.min(16, Math.max(1, Math.round(TARGET_MS / perP)));
    calibrated = { ...FLOOR_SCRYPT, p };
  }
  return calibrated;
}

/** Pins the parameters of new keys for this process (undefined: calibrate again). Checked like a reader's. */
export function pinScryptParams(params: ScryptParams | undefined): void {
  if (params) checkParams(params);
  pinned = params;
}

/** The JSON stored in "keys/<id>". */
export interface KeyFile {
  version: 1;
  created: string;
  hostname: string;
  username: string;
  kdf: "scrypt";
  N: number;
  r: number;
  p: number;
  /** base64, 16+ bytes. */
  salt: string;
  /** base64 of nonce ‖ AES-256-GCM(master key JSON) ‖ tag, AAD "backapp v1 key". */
  data: string;
}

const KEY_AAD = utf8("backapp v1 key");

export function newMasterKeys(): MasterKeys {
  return { encrypt: random(KEY_BYTES), mac: random(KEY_BYTES) };
}

/** scrypt needs 128·N·r bytes; a key object asking for more is refused before anything is allocated. */
const MAX_SCRYPT_MEMORY = 1024 * 1024 * 1024;

/**
 * Key objects are read from storage, so their parameters may be hostile: non-integers, N = 2^40,
 * or N = 2^24 with r = 64 (128 GiB) would make scrypt throw a non-integrity error or exhaust memory.
 */
function checkParams(p: ScryptParams): void {
  const ints = Number.isSafeInteger(p.N) && Number.isSafeInteger(p.r) && Number.isSafeInteger(p.p);
  const ok =
    ints &&
    Number.isInteger(Math.log2(p.N)) &&
    p.N >= 2 &&
    p.N <= 2 ** 24 &&
    p.r >= 1 &&
    p.r <= 64 &&
    p.p >= 1 &&
    p.p <= 16 &&
    128 * p.N * p.r <= MAX_SCRYPT_MEMORY;
  if (!ok) throw new IntegrityError(`unsupported scrypt parameters N=${p.N} r=${p.r} p=${p.p}`);
}

function scryptOptions(params: ScryptParams) {
  checkParams(params);
  return { ...params, maxmem: 256 * params.N * params.r * params.p + 16 * 1024 * 1024 };
}

export function deriveWrappingKey(password: string, salt: Uint8Array, params: ScryptParams): Uint8Array {
  return new Uint8Array(scryptSync(password.normalize("NFC"), salt, KEY_BYTES, scryptOptions(params)));
}

/** deriveWrappingKey on the thread pool: the calling thread stays free for the ~0.5 s it takes. */
function deriveWrappingKeyAsync(
  password: string,
  salt: Uint8Array,
  params: ScryptParams,
): Promise<Uint8Array> {
  const options = scryptOptions(params);
  return new Promise((resolve, reject) => {
    scrypt(password.normalize("NFC"), salt, KEY_BYTES, options, (e, key) =>
      e ? reject(e) : resolve(new Uint8Array(key)),
    );
  });
}

/** Creates a key object wrapping `master` under `password`. */
export function wrapMasterKeys(
  master: MasterKeys,
  password: string,
  meta: { hostname: string; username: string; created: string },
  params: ScryptParams = newKeyScryptParams(),
): KeyFile {
  if (!master.encrypt) throw new ValidationError("an unencrypted repository has no keys");
  if (password.length === 0) throw new ValidationError("the password must not be empty");
  const salt = random(16);
  const wrapping = deriveWrappingKey(password, salt, params);
  const inner = JSON.stringify({ encrypt: toBase64(master.encrypt), mac: toBase64(master.mac) });
  const data = gcmSeal(wrapping, utf8(inner), KEY_AAD);
  return { version: 1, ...meta, kdf: "scrypt", ...params, salt: toBase64(salt), data: toBase64(data) };
}

/** Parses a key object's bytes. IntegrityError when it is not a key object of format 1. */
export function parseKeyFile(bytes: Uint8Array): KeyFile {
  let k: KeyFile;
  try {
    k = JSON.parse(new TextDecoder().decode(bytes)) as KeyFile;
  } catch (cause) {
    throw new IntegrityError("key object is not JSON", { cause });
  }
  const ok =
    k && k.version === 1 && k.kdf === "scrypt" && typeof k.salt === "string" && typeof k.data === "string";
  if (!ok) throw new IntegrityError("key object has an unknown format");
  return k;
}

/** Unwraps the master keys, or returns null when the password does not fit this key. */
export function unwrapMasterKeys(key: KeyFile, password: string): MasterKeys | null {
  return openKey(key, deriveWrappingKey(password, fromBase64(key.salt), { N: key.N, r: key.r, p: key.p }));
}

/**
 * unwrapMasterKeys with the key derived on the thread pool: a backup walks its source meanwhile
 * (see backup/ahead.ts), and a server keeps answering.
 */
export async function unwrapMasterKeysAsync(key: KeyFile, password: string): Promise<MasterKeys | null> {
  const params = { N: key.N, r: key.r, p: key.p };
  return openKey(key, await deriveWrappingKeyAsync(password, fromBase64(key.salt), params));
}

function openKey(key: KeyFile, wrapping: Uint8Array): MasterKeys | null {
  let inner: Uint8Array;
  try {
    inner = gcmOpen(wrapping, fromBase64(key.data), KEY_AAD);
  } catch {
    return null;
  }
  const json = JSON.parse(new TextDecoder().decode(inner)) as { encrypt: string; mac: string };
  const encrypt = fromBase64(json.encrypt);
  const mac = fromBase64(json.mac);
  if (encrypt.byteLength !== KEY_BYTES || mac.byteLength !== KEY_BYTES) {
    throw new IntegrityError("key object holds malformed master keys");
  }
  return { encrypt, mac };
}

/** Seals an object's bytes when the repository is encrypted; stores them as they are otherwise. */
export function sealWith(keys: MasterKeys, kind: string, plaintext: Uint8Array): Uint8Array {
  return keys.encrypt ? sealObject(keys.encrypt, kind, plaintext) : plaintext;
}

/** Inverse of sealWith. IntegrityError when it does not authenticate. */
export function openWith(keys: MasterKeys, kind: string, stored: Uint8Array): Uint8Array {
  return keys.encrypt ? openObject(keys.encrypt, kind, stored) : stored;
}
