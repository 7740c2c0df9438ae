/** Creating and opening repositories: config, key unwrapping, locking, index loading. */
import { availableParallelism, hostname as osHostname, userInfo } from "node:os";
import type { Backend } from "../../storage/backend.ts";
import type { Clock } from "../../util/clock.ts";
import {
  IntegrityError,
  NotFoundError,
  throwIfAborted,
  ValidationError,
  WrongPasswordError,
  wrapError,
} from "../../util/errors.ts";
import { random, sha256Hex } from "../crypto/aead.ts";
import {
  type MasterKeys,
  newMasterKeys,
  parseKeyFile,
  type ScryptParams,
  unwrapMasterKeys,
  wrapMasterKeys,
} from "../crypto/keys.ts";
import type { ChunkerParams, CompressionMode } from "../types.ts";
import { BlobIndex } from "./blob-index.ts";
import { compressionLevel } from "./compression.ts";
import {
  decodeConfig,
  encodeConfig,
  newConfig,
  parseEnvelope,
  plainKeys,
  type RepoConfig,
} from "./config.ts";
import { type EncodedIndexPack, visitIndex } from "./index-file.ts";
import { acquireLock, type HeldLock, type LockOptions } from "./lock.ts";
import { mapLimit } from "./map-limit.ts";
import { Prefetch, readAheadOr } from "./prefetch.ts";
import { RepositoryImpl, type RepositoryTuning } from "./repository.ts";

export interface InitOptions {
  encryption?: boolean;
  chunker?: Partial<ChunkerParams>;
  hostname?: string;
  username?: string;
  /** scrypt cost; tests lower it. */
  scrypt?: ScryptParams;
  /** Create the repository even where other objects already are (they are left alone). */
  force?: boolean;
}

export interface OpenOptions {
  compression?: CompressionMode;
  /** Default "shared". */
  lock?: "shared" | "exclusive" | "none";
  signal?: AbortSignal;
  /** Seal worker threads (default: CPU count, 1–4); 0 seals inline. */
  workers?: number;
  /** Target pack size in bytes (default 16 MiB). */
  packSize?: number;
  /** Write an index file at least this often (ms) while packs are uploaded; default 5 minutes. */
  indexEveryMs?: number;
  /** Lock options: waitMs/pollMs to wait for a conflicting lock; clock/host/pid overrides for tests. */
  lockOptions?: LockOptions;
  clock?: Clock;
  /** Default true: close() also closes the backend. */
  ownsBackend?: boolean;
}

export const DEFAULT_PACK_SIZE = 16 * 1024 * 1024;

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return "";
  }
}

/** True when `backend` holds a repository config object. */
export async function repositoryExists(backend: Backend, signal?: AbortSignal): Promise<boolean> {
  try {
    await backend.stat("config", { signal });
    return true;
  } catch (e) {
    if (e instanceof NotFoundError) return false;
    throw e;
  }
}

/** Writes a key object for `keys`; returns its id. */
export async function writeKey(
  backend: Backend,
  keys: MasterKeys,
  password: string,
  meta: { hostname?: string; username?: string; created?: string; scrypt?: ScryptParams },
): Promise<string> {
  const file = await wrapMasterKeys(
    keys,
    password,
    {
      created: meta.created ?? new Date().toISOString(),
      hostname: meta.hostname ?? osHostname(),
      username: meta.username ?? currentUser(),
    },
    meta.scrypt,
  );
  const bytes = new TextEncoder().encode(`${JSON.stringify(file)}\n`);
  const id = sha256Hex(bytes);
  await backend.put(`keys/${id}`, bytes);
  return id;
}

/**
 * Creates a repository: key object first, config last (a config is what makes it exist).
 * ValidationError "repository already initialized" when a config is present.
 */
/**
 * A folder or bucket prefix that already holds other things is most likely a typo'd path (a home
 * folder, another tool's bucket): a repository written into it would mix with them.
 */
async function refuseNonEmpty(backend: Backend): Promise<void> {
  for await (const o of backend.list("")) {
    // Key objects without a config: an init interrupted before its config, run again.
    if (o.name.startsWith("keys/")) continue;
    throw new ValidationError(
      `${backend.location} is not empty and holds no repository (it has ${o.name}): refusing to create one there; choose an empty location, or use --force to create it beside what is there`,
    );
  }
}

export async function initRepository(
  backend: Backend,
  password: string,
  options: InitOptions & OpenOptions = {},
): Promise<RepositoryImpl> {
  tuning(options); // reject bad options before anything is written
  if (await repositoryExists(backend)) throw new ValidationError("repository already initialized");
  if (!options.force) await refuseNonEmpty(backend);
  const encryption = options.encryption ?? true;
  const keys: MasterKeys = encryption ? newMasterKeys() : { encrypt: null, mac: random(32) };
  const created = new Date((options.clock ?? Date).now()).toISOString();
  const config = newConfig(encryption, options.chunker ?? {}, created);
  const keyId = encryption ? await writeKey(backend, keys, password, { ...options, created }) : null;
  await backend.put("config", encodeConfig(config, keys));
  return build(backend, { keys, config, keyId }, { ...options, lock: options.lock ?? "none" });
}

/**
 * Tries every key object until one opens with `password` and its master keys decrypt the config.
 * A key that opens but does not decrypt the config is skipped: an `init` killed between writing
 * its key and its config, then run again with the same passphrase, leaves such a key, and taking
 * it would make the repository unopenable whenever it is listed first. WrongPasswordError when no
 * key opens, naming the key objects refused as damaged or hostile.
 */
async function unlockKeys(
  backend: Backend,
  password: string,
  env: ReturnType<typeof parseEnvelope>,
  signal?: AbortSignal,
  onDeriving?: () => void,
) {
  const skipped: string[] = [];
  let configError: unknown = null;
  for await (const o of backend.list("keys/", { signal })) {
    throwIfAborted(signal);
    let keys: MasterKeys | null;
    try {
      const file = parseKeyFile(await readKeyObject(backend, o.name, signal));
      onDeriving?.();
      keys = await unwrapMasterKeys(file, password);
    } catch (e) {
      // A damaged or hostile key object; another may work. Named if none does.
      if (!(e instanceof IntegrityError)) throw e;
      skipped.push(`${o.name}: ${e.message}`);
      continue;
    }
    if (!keys) continue;
    try {
      return { keys, keyId: o.name.slice("keys/".length), config: decodeConfig(env, keys) };
    } catch (e) {
      configError ??= e;
    }
  }
  if (configError) throw wrapError("config", configError);
  const why = skipped.length > 0 ? ` (${skipped.join("; ")})` : "";
  throw new WrongPasswordError(`wrong password or no key found${why}`);
}

/**
 * A key object is named by the SHA-256 of its bytes. Bytes damaged on the way (a flipped bit the
 * transport did not catch) would make the key fail to unwrap and read as "wrong password": read
 * again, up to 3 times, while they do not match the name. A key stored that way is used as read.
 */
async function readKeyObject(backend: Backend, name: string, signal?: AbortSignal): Promise<Uint8Array> {
  const id = name.slice("keys/".length);
  let bytes = await backend.get(name, { signal });
  for (let attempt = 1; attempt < 3 && sha256Hex(bytes) !== id; attempt++) {
    bytes = await backend.get(name, { signal });
  }
  return bytes;
}

/**
 * Key objects exist only in encrypted repositories. A config claiming "no encryption" beside them
 * is what someone with write access to the storage would plant to make us write plaintext.
 */
async function refuseDowngrade(backend: Backend, signal?: AbortSignal): Promise<void> {
  for await (const _ of backend.list("keys/", { signal })) {
    throw new IntegrityError("config says unencrypted but key objects exist: refusing a possible downgrade");
  }
}

async function readConfig(backend: Backend, signal?: AbortSignal) {
  try {
    return parseEnvelope(await backend.get("config", { signal }));
  } catch (e) {
    if (e instanceof NotFoundError) throw new NotFoundError(`no repository at ${backend.location}`);
    throw e;
  }
}

/** Opens a repository: unwraps the keys, checks the config, takes the lock, loads the index. */
export async function openRepository(
  backend: Backend,
  password: string,
  options: OpenOptions = {},
): Promise<RepositoryImpl> {
  tuning(options);
  const env = await readConfig(backend, options.signal);
  if (!env.encrypted) await refuseDowngrade(backend, options.signal);
  if (env.encrypted) {
    // The key derivation takes about half a second on the thread pool: read the index files
    // meanwhile (prefetch.ts), from when it starts (the key object's read comes first).
    let prefetch: Prefetch | undefined;
    let unlocked: Awaited<ReturnType<typeof unlockKeys>>;
    try {
      unlocked = await unlockKeys(backend, password, env, options.signal, () => {
        prefetch ??= new Prefetch(backend, "index/", options.signal);
      });
    } catch (e) {
      prefetch?.close();
      throw e;
    }
    return build(backend, unlocked, options, prefetch);
  }
  const keys = plainKeys(env);
  let config: RepoConfig;
  try {
    config = decodeConfig(env, keys);
  } catch (e) {
    throw wrapError("config", e);
  }
  return build(backend, { keys, config, keyId: null }, options);
}

/**
 * Opens an encrypted repository with master keys another process of ours already unwrapped (the
 * server hands them to a download child over a pipe): no key derivation, which costs 0.5 s of CPU
 * and 128 MiB at today's scrypt parameters. The config must still authenticate under the keys:
 * WrongPasswordError when they are not this repository's. An unencrypted repository needs none.
 */
export async function openRepositoryWithKeys(
  backend: Backend,
  keys: MasterKeys,
  options: OpenOptions = {},
): Promise<RepositoryImpl> {
  tuning(options);
  const env = await readConfig(backend, options.signal);
  if (!env.encrypted) return openRepository(backend, "", options);
  let config: RepoConfig;
  try {
    config = decodeConfig(env, keys);
  } catch (e) {
    throw new WrongPasswordError("the keys given do not open this repository", { cause: e });
  }
  return build(backend, { keys, config, keyId: null }, options);
}

async function build(
  backend: Backend,
  base: { keys: MasterKeys; config: RepoConfig; keyId: string | null },
  options: OpenOptions,
  prefetch?: Prefetch,
): Promise<RepositoryImpl> {
  const mode = options.lock ?? "shared";
  let lock: HeldLock | null = null;
  try {
    if (mode !== "none") {
      lock = await acquireLock(backend, base.keys, {
        exclusive: mode === "exclusive",
        clock: options.clock,
        signal: options.signal,
        ...options.lockOptions,
      });
    }
    // Listed now, after the lock: a prune that ended meanwhile is seen (what was read ahead is
    // used only for names still listed).
    const loaded = await loadIndex(backend, base.keys, options.signal, prefetch);
    return new RepositoryImpl({ backend, ...base, ...loaded, lock }, tuning(options));
  } catch (e) {
    await lock?.release();
    throw e;
  } finally {
    prefetch?.close();
  }
}

function tuning(options: OpenOptions): RepositoryTuning {
  return {
    level: compressionLevel(options.compression ?? "auto"),
    // One core stays with the main thread (reading, chunking, hashing); measured on 2 cores, a
    // second seal worker added ~60 MiB of peak memory (its packs and heap) and no speed.
    workers: options.workers ?? Math.min(4, Math.max(1, availableParallelism() - 1)),
    packSize: options.packSize ?? DEFAULT_PACK_SIZE,
    indexEveryPacks: 64,
    indexEveryMs: options.indexEveryMs ?? 5 * 60_000,
    ownsBackend: options.ownsBackend ?? true,
  };
}

/** Loads every index file (8 at a time); damaged ones are recorded in loadErrors, not thrown. */
export async function loadIndex(
  backend: Backend,
  keys: MasterKeys,
  signal?: AbortSignal,
  prefetch?: Prefetch,
) {
  const index = new BlobIndex();
  const indexFiles: string[] = [];
  const loadErrors: { object: string; message: string }[] = [];
  const names: string[] = [];
  for await (const o of backend.list("index/", { signal })) names.push(o.name);
  await prefetch?.rethrow();
  await mapLimit(names, 8, async (name) => {
    const id = name.slice("index/".length);
    try {
      const bytes = await readAheadOr(backend, name, prefetch, signal);
      if (sha256Hex(bytes) !== id) throw new IntegrityError("content does not match its name");
      // Validated whole before any entry is added: a damaged file adds nothing.
      const packs: EncodedIndexPack[] = [];
      visitIndex(bytes, keys, (p) => packs.push(p));
      for (const p of packs)
        index.addEncoded(index.addPack({ id: p.id, size: p.size, salt: p.salt }), p.raw, p.count);
      indexFiles.push(id);
    } catch (e) {
      if (!(e instanceof IntegrityError)) throw e;
      loadErrors.push({ object: name, message: e.message });
    }
  });
  return { index, indexFiles, loadErrors };
}
