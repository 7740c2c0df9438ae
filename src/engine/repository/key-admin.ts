/**
 * Key management: several passphrases (key objects) wrap the same master keys. Adding or removing
 * a key never touches data. The key that opened the repository cannot be removed (change the
 * password instead), and the last key never can.
 */
import { IntegrityError, NotFoundError, ValidationError } from "../../util/errors.ts";
import { parseKeyFile, type ScryptParams, unwrapMasterKeys } from "../crypto/keys.ts";
import { writeKey } from "./open.ts";
import type { RepositoryImpl } from "./repository.ts";

export interface KeyInfo {
  id: string;
  created: string;
  hostname: string;
  username: string;
  /** True for the key that opened this repository handle. */
  current: boolean;
}

function requireEncrypted(repo: RepositoryImpl): void {
  if (!repo.encrypted) throw new ValidationError("an unencrypted repository has no keys");
}

export async function listKeys(repo: RepositoryImpl, signal?: AbortSignal): Promise<KeyInfo[]> {
  const out: KeyInfo[] = [];
  for await (const o of repo.backend.list("keys/", { signal })) {
    const id = o.name.slice("keys/".length);
    try {
      const k = parseKeyFile(await repo.backend.get(o.name, { signal }));
      out.push({
        id,
        created: k.created,
        hostname: k.hostname,
        username: k.username,
        current: id === repo.keyId,
      });
    } catch {
      out.push({ id, created: "", hostname: "?", username: "?", current: false });
    }
  }
  return out.sort((a, b) => a.created.localeCompare(b.created) || a.id.localeCompare(b.id));
}

/** Adds a key object for `password`; returns its id. */
export async function addKey(
  repo: RepositoryImpl,
  password: string,
  meta: { hostname?: string; username?: string; scrypt?: ScryptParams } = {},
): Promise<string> {
  requireEncrypted(repo);
  return writeKey(repo.backend, repo.masterKeys, password, meta);
}

/**
 * Removes a key object, named by its id or a unique prefix of 8+ hex characters. ValidationError
 * for a shorter or ambiguous prefix and for the current key (which also protects the last one);
 * NotFoundError for an unknown id. Returns the full id of the key removed.
 */
export async function removeKey(repo: RepositoryImpl, ref: string): Promise<string> {
  requireEncrypted(repo);
  if (!/^[0-9a-fA-F]{8,64}$/.test(ref)) {
    throw new ValidationError(`"${ref}" is not a key id or a prefix of at least 8 hex characters`);
  }
  const id = ref.toLowerCase();
  const keys = await listKeys(repo);
  const matches = keys.filter((k) => k.id.startsWith(id));
  if (matches.length === 0) throw new NotFoundError(`key ${id} not found`);
  if (matches.length > 1) throw new ValidationError(`key prefix ${id} is ambiguous`);
  const key = matches[0]!;
  if (key.current) {
    throw new ValidationError(
      'cannot remove the key in use: to replace this passphrase, use "backapp key passwd" (it adds the new key, then removes this one)',
    );
  }
  await repo.backend.delete(`keys/${key.id}`);
  return key.id;
}

/** Whether `password` opens key object `id` (false for a damaged or hostile one). */
async function opensWith(repo: RepositoryImpl, id: string, password: string): Promise<boolean> {
  try {
    return (await unwrapMasterKeys(parseKeyFile(await repo.backend.get(`keys/${id}`)), password)) !== null;
  } catch (e) {
    const damaged = e instanceof IntegrityError || e instanceof ValidationError || e instanceof SyntaxError;
    if (damaged || e instanceof NotFoundError) return false;
    throw e;
  }
}

/**
 * Replaces the current key with one for `password`: the new key is written first, then the one in
 * use is deleted, and with `oldPassword` every other key object that passphrase opens too (so the
 * old passphrase stops working even if it had been added twice). Keys of other passphrases stay.
 * Returns the new key's id.
 */
export async function changePassword(
  repo: RepositoryImpl,
  password: string,
  meta: { hostname?: string; username?: string; scrypt?: ScryptParams; oldPassword?: string } = {},
): Promise<string> {
  requireEncrypted(repo);
  const old = repo.keyId;
  const id = await addKey(repo, password, meta);
  repo.keyId = id;
  if (old && old !== id) await repo.backend.delete(`keys/${old}`);
  if (meta.oldPassword !== undefined) {
    for (const k of await listKeys(repo)) {
      if (k.id === id || k.id === old) continue;
      if (await opensWith(repo, k.id, meta.oldPassword)) await repo.backend.delete(`keys/${k.id}`);
    }
  }
  return id;
}
