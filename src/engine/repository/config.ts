/**
 * The "config" object: format version, repository id, chunker parameters, encryption flag.
 * Stored as a small JSON envelope whose payload is sealed under the master key (kind "config"),
 * or held in the clear (with the blob id key) for unencrypted repositories.
 */
import { IntegrityError, ValidationError } from "../../util/errors.ts";
import { fromBase64, isHexId, random, toBase64, toHex, utf8 } from "../crypto/aead.ts";
import { type MasterKeys, openWith, sealWith } from "../crypto/keys.ts";
import type { ChunkerParams } from "../types.ts";

export const FORMAT_VERSION = 1;
/** The config version new repositories get; every version up to it is read. */
export const CONFIG_VERSION = 2;

export interface RepoConfig {
  /** 1: the first format; 2: tree nodes may carry extended attributes (xattrs). Both are read. */
  version: 1 | 2;
  id: string;
  created: string;
  encryption: boolean;
  chunker: ChunkerParams;
  /** base64 blob id key; present only in unencrypted repositories. */
  id_key?: string;
}

interface Envelope {
  format: number;
  encrypted: boolean;
  /** Encrypted: base64 of the sealed RepoConfig JSON. */
  data?: string;
  /** Unencrypted: the RepoConfig itself. */
  config?: RepoConfig;
}

export const DEFAULT_CHUNKER = { min: 512 * 1024, avg: 1024 * 1024, max: 8 * 1024 * 1024 };

export function newConfig(encryption: boolean, chunker: Partial<ChunkerParams>, created: string): RepoConfig {
  const params: ChunkerParams = { ...DEFAULT_CHUNKER, seed: toHex(random(32)), ...chunker };
  checkChunker(params);
  return { version: CONFIG_VERSION, id: toHex(random(32)), created, encryption, chunker: params };
}

function checkChunker(c: ChunkerParams): void {
  const ok =
    Number.isInteger(c.min) &&
    Number.isInteger(c.avg) &&
    Number.isInteger(c.max) &&
    c.min > 0 &&
    c.min <= c.avg &&
    c.avg <= c.max &&
    c.max <= 64 * 1024 * 1024 &&
    Number.isInteger(Math.log2(c.avg)) &&
    /^[0-9a-f]+$/.test(c.seed);
  if (!ok) throw new ValidationError(`invalid chunker parameters ${JSON.stringify(c)}`);
}

export function encodeConfig(config: RepoConfig, keys: MasterKeys): Uint8Array {
  const env: Envelope = keys.encrypt
    ? {
        format: FORMAT_VERSION,
        encrypted: true,
        data: toBase64(sealWith(keys, "config", utf8(JSON.stringify(config)))),
      }
    : { format: FORMAT_VERSION, encrypted: false, config: { ...config, id_key: toBase64(keys.mac) } };
  return utf8(`${JSON.stringify(env)}\n`);
}

/** Reads the envelope only: the format and whether a password is needed. */
export function parseEnvelope(bytes: Uint8Array): Envelope {
  let env: Envelope;
  try {
    env = JSON.parse(new TextDecoder().decode(bytes)) as Envelope;
  } catch (cause) {
    throw new IntegrityError("config object is not JSON", { cause });
  }
  if (!env || typeof env !== "object" || typeof env.format !== "number") {
    throw new IntegrityError("config object has an unknown shape");
  }
  if (env.format !== FORMAT_VERSION) {
    throw new ValidationError(`repository format ${env.format} is not supported (this build reads 1)`);
  }
  return env;
}

function checkConfig(c: RepoConfig): RepoConfig {
  if (typeof c?.version === "number" && c.version !== 1 && c.version !== 2) {
    throw new ValidationError(
      `repository config version ${c.version} is not supported (this build reads 1 and 2)`,
    );
  }
  if (
    (c?.version !== 1 && c?.version !== 2) ||
    !isHexId(c.id) ||
    typeof c.chunker !== "object" ||
    !c.chunker
  ) {
    throw new IntegrityError("config has an unknown shape");
  }
  checkChunker(c.chunker);
  return c;
}

/** Decrypts (when needed) and validates the config. */
export function decodeConfig(env: Envelope, keys: MasterKeys): RepoConfig {
  if (!env.encrypted) return checkConfig(env.config as RepoConfig);
  if (typeof env.data !== "string") throw new IntegrityError("config envelope lacks data");
  const plain = openWith(keys, "config", fromBase64(env.data));
  return checkConfig(JSON.parse(new TextDecoder().decode(plain)) as RepoConfig);
}

/** The master keys of an unencrypted repository: no encryption key, the stored id key. */
export function plainKeys(env: Envelope): MasterKeys {
  const mac = fromBase64(env.config?.id_key ?? "");
  if (mac.byteLength !== 32) throw new IntegrityError("unencrypted config lacks its id key");
  return { encrypt: null, mac };
}
