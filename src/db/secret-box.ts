/**
 * Secrets at rest (SMTP password now; destination keys later): AES-256-GCM under a server key kept
 * in `<dataDir>/secret.key` (mode 0600), apart from the database, so a copy of backapp.db alone
 * reveals no secret. Losing the key file loses only these stored secrets (re-enter them), never a
 * backup. Sealed values are "v1:<base64 iv|tag|ciphertext>".
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { closeSync, openSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { BackappError } from "../util/errors.ts";
import { Secret } from "../util/secret.ts";

export class SecretBoxError extends BackappError {}

const KEY_FILE = "secret.key";
const PREFIX = "v1:";

function readKey(path: string): Buffer {
  const key = Buffer.from(readFileSync(path, "utf8").trim(), "base64");
  if (key.length !== 32) throw new SecretBoxError(`${path} is not a backapp secret key (expected 32 bytes)`);
  return key;
}

/** The server key of `dataDir`, created on first use (two processes racing agree on one file). */
export function loadServerKey(dataDir: string): Buffer {
  const path = join(dataDir, KEY_FILE);
  try {
    const fd = openSync(path, "wx", 0o600);
    try {
      writeSync(fd, `${randomBytes(32).toString("base64")}\n`);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  return readKey(path);
}

/** True for a value seal() made (any key, any context); false for anything stored in clear. */
export function isSealed(value: string): boolean {
  return value.startsWith(PREFIX);
}

/** Encrypts `plain` under `key`; `context` (e.g. "smtp.password") is bound as associated data. */
export function seal(key: Buffer, context: string, plain: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(context));
  const body = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
  return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64");
}

/** Decrypts a sealed value; SecretBoxError when it was sealed under another key or tampered with. */
export function unseal(key: Buffer, context: string, sealed: string): Secret {
  const raw = sealed.startsWith(PREFIX) ? Buffer.from(sealed.slice(PREFIX.length), "base64") : null;
  if (!raw || raw.length < 28) throw new SecretBoxError(`${context}: not a sealed value`);
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12));
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(raw.subarray(12, 28));
    const plain = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]);
    return new Secret(plain.toString("utf8"));
  } catch {
    throw new SecretBoxError(`${context}: cannot be decrypted with ${KEY_FILE} (another key, or damaged)`);
  }
}
