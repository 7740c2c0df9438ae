/**
 * Symmetric primitives of the repository format (docs/repository-format.md, "Encryption"):
 * AES-256-GCM with random 96-bit nonces, HKDF-SHA-256 subkeys, SHA-256 object ids and
 * HMAC-SHA-256 blob ids. Everything here is synchronous and works in worker threads.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes } from "node:crypto";
import { IntegrityError } from "../../util/errors.ts";

export const KEY_BYTES = 32;
export const SALT_BYTES = 16;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
/** Bytes a GCM seal adds to its plaintext: nonce + tag. */
export const AEAD_OVERHEAD = NONCE_BYTES + TAG_BYTES;

/** HKDF "info" strings; part of the format. */
export const INFO_PACK = "backapp v1 pack";
export const INFO_OBJECT = "backapp v1 object";

export function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(data).digest());
}

export function sha256Hex(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

export function hmacSha256Hex(key: Uint8Array, data: Uint8Array): string {
  return createHmac("sha256", key).update(data).digest("hex");
}

export function random(n: number): Uint8Array {
  return new Uint8Array(randomBytes(n));
}

/** HKDF-SHA-256(ikm = master key, salt, info) → 32-byte subkey. */
export function deriveSubkey(master: Uint8Array, salt: Uint8Array, info: string): Uint8Array {
  return new Uint8Array(hkdfSync("sha256", master, salt, info, KEY_BYTES));
}

/** nonce(12) ‖ ciphertext ‖ tag(16), AES-256-GCM with a fresh random nonce. */
export function gcmSeal(key: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Uint8Array {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, nonce);
  if (aad) cipher.setAAD(aad);
  const body = cipher.update(plaintext);
  const final = cipher.final();
  const tag = cipher.getAuthTag();
  const out = new Uint8Array(NONCE_BYTES + body.byteLength + final.byteLength + TAG_BYTES);
  out.set(nonce, 0);
  out.set(body, NONCE_BYTES);
  out.set(final, NONCE_BYTES + body.byteLength);
  out.set(tag, out.byteLength - TAG_BYTES);
  return out;
}

/** Inverse of gcmSeal. IntegrityError when the tag does not authenticate. */
export function gcmOpen(key: Uint8Array, sealed: Uint8Array, aad?: Uint8Array): Uint8Array {
  if (sealed.byteLength < AEAD_OVERHEAD) throw new IntegrityError("ciphertext too short");
  const nonce = sealed.subarray(0, NONCE_BYTES);
  const tag = sealed.subarray(sealed.byteLength - TAG_BYTES);
  const body = sealed.subarray(NONCE_BYTES, sealed.byteLength - TAG_BYTES);
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, nonce);
    decipher.setAuthTag(tag);
    if (aad) decipher.setAAD(aad);
    const a = decipher.update(body);
    const b = decipher.final();
    if (b.byteLength === 0) return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    return concat([a, b]);
  } catch (cause) {
    throw new IntegrityError("authentication failed (wrong key or tampered data)", { cause });
  }
}

export function concat(parts: Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.byteLength;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

const encoder = new TextEncoder();
export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

/**
 * Seals a standalone object (config, index, snapshot, lock): salt(16) ‖ nonce(12) ‖ ct ‖ tag(16)
 * under HKDF(encryption key, salt, "backapp v1 object"), with AAD "backapp v1 <kind>" so an object
 * of one kind can never be passed off as another.
 */
export function sealObject(encKey: Uint8Array, kind: string, plaintext: Uint8Array): Uint8Array {
  const salt = random(SALT_BYTES);
  const sub = deriveSubkey(encKey, salt, INFO_OBJECT);
  return concat([salt, gcmSeal(sub, plaintext, utf8(`backapp v1 ${kind}`))]);
}

/** Inverse of sealObject. IntegrityError when it does not authenticate. */
export function openObject(encKey: Uint8Array, kind: string, sealed: Uint8Array): Uint8Array {
  if (sealed.byteLength < SALT_BYTES + AEAD_OVERHEAD) throw new IntegrityError(`${kind}: object too short`);
  const sub = deriveSubkey(encKey, sealed.subarray(0, SALT_BYTES), INFO_OBJECT);
  return gcmOpen(sub, sealed.subarray(SALT_BYTES), utf8(`backapp v1 ${kind}`));
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

export function fromHex(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, "hex"));
}

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

export function fromBase64(b64: string): Uint8Array {
  return new Uint8Array(Buffer.from(b64, "base64"));
}

const HEX64 = /^[0-9a-f]{64}$/;
export function isHexId(s: unknown): s is string {
  return typeof s === "string" && HEX64.test(s);
}
