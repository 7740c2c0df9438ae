/**
 * Key management: several passphrases (key objects) wrap the same master keys. Adding or removing
 * a key never touches data. The key that opened the repository cannot be removed (change the
 * password instead), and the last key never can.
 */
import { NotFoundError, ValidationError } from "../../util/errors.ts";
import { parseKeyFile, type ScryptParams } from "../crypto/keys.ts";
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

/** Removes a key object. ValidationError for the current key; NotFoundError for an unknown id. */
export async function removeKey(repo: RepositoryImpl, id: string): Promise<void> {
  requireEncrypted(repo);
  const keys = await listKeys(repo);
  const matches = keys.filter((k) => k.id.startsWith(id) && id.length >= 8);
  if (matches.length === 0) throw new NotFoundError(`key ${id} not found`);
  if (matches.length > 1) throw new ValidationError(`key prefix ${id} is ambiguous`);
  const key = matches[0]!;
  if (key.current) throw new ValidationError("cannot remove the key in use; change the password instead");
  await repo.backend.delete(`keys/${key.id}`);
}

/** Replaces the current key with one for `password` (new key written before the old is deleted). */
export async function changePassword(
  repo: RepositoryImpl,
  password: string,
  meta: { hostname?: string; username?: string; scrypt?: ScryptParams } = {},
): Promise<string> {
  requireEncrypted(repo);
  const old = repo.keyId;
  const id = await addKey(repo, password, meta);
  repo.keyId = id;
  if (old && old !== id) await repo.backend.delete(`keys/${old}`);
  return id;
}
