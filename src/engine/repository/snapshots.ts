/**
 * Snapshot objects ("snapshots/<id>"): sealed JSON of a SnapshotInput, id = SHA-256 of the stored
 * bytes. Written last (after packs and index), so a snapshot never points at unindexed data.
 */
import type { Backend } from "../../storage/backend.ts";
import {
  IntegrityError,
  NotFoundError,
  throwIfAborted,
  ValidationError,
  wrapError,
} from "../../util/errors.ts";
import { isHexId, sha256Hex, utf8 } from "../crypto/aead.ts";
import { type MasterKeys, openWith, sealWith } from "../crypto/keys.ts";
import type { Snapshot, SnapshotInput } from "../types.ts";
import { mapLimit } from "./map-limit.ts";

export function encodeSnapshot(s: SnapshotInput, keys: MasterKeys): { id: string; bytes: Uint8Array } {
  const input: SnapshotInput = {
    time: s.time,
    hostname: s.hostname,
    username: s.username,
    paths: s.paths,
    tags: s.tags,
    parent: s.parent,
    tree: s.tree,
    program_version: s.program_version,
    summary: s.summary,
  };
  if (!isHexId(input.tree)) throw new ValidationError("snapshot tree is not a blob id");
  const bytes = sealWith(keys, "snapshot", utf8(JSON.stringify(input)));
  return { id: sha256Hex(bytes), bytes };
}

export function decodeSnapshot(id: string, stored: Uint8Array, keys: MasterKeys): Snapshot {
  if (sha256Hex(stored) !== id) throw new IntegrityError(`snapshot ${id}: content does not match its name`);
  const s = JSON.parse(new TextDecoder().decode(openWith(keys, "snapshot", stored))) as SnapshotInput;
  const ok =
    s &&
    typeof s.time === "string" &&
    !Number.isNaN(Date.parse(s.time)) &&
    isHexId(s.tree) &&
    Array.isArray(s.paths) &&
    Array.isArray(s.tags) &&
    (s.parent === null || isHexId(s.parent));
  if (!ok) throw new IntegrityError(`snapshot ${id}: malformed`);
  return { ...s, id };
}

export async function listSnapshotIds(backend: Backend, signal?: AbortSignal): Promise<string[]> {
  const ids: string[] = [];
  for await (const o of backend.list("snapshots/", { signal })) {
    const id = o.name.slice("snapshots/".length);
    if (isHexId(id)) ids.push(id);
  }
  return ids;
}

export async function loadSnapshot(
  backend: Backend,
  keys: MasterKeys,
  id: string,
  signal?: AbortSignal,
): Promise<Snapshot> {
  try {
    return decodeSnapshot(id, await backend.get(`snapshots/${id}`, { signal }), keys);
  } catch (e) {
    throw wrapError(`snapshot ${id.slice(0, 12)}`, e);
  }
}

export async function loadAllSnapshots(
  backend: Backend,
  keys: MasterKeys,
  signal?: AbortSignal,
): Promise<Snapshot[]> {
  const ids = await listSnapshotIds(backend, signal);
  const out = await mapLimit(ids, 8, (id) => {
    throwIfAborted(signal);
    return loadSnapshot(backend, keys, id, signal);
  });
  return out.sort((a, b) => a.time.localeCompare(b.time) || a.id.localeCompare(b.id));
}

export interface SnapshotFilter {
  hostname?: string;
  paths?: string[];
}

function matches(s: Snapshot, f?: SnapshotFilter): boolean {
  if (f?.hostname !== undefined && s.hostname !== f.hostname) return false;
  if (f?.paths && [...f.paths].sort().join("\0") !== [...s.paths].sort().join("\0")) return false;
  return true;
}

/** Resolves "latest", a full id or a unique prefix of ≥ 8 hex characters. */
export function pickSnapshot(all: Snapshot[], ref: string, filter?: SnapshotFilter): Snapshot {
  if (ref === "latest") {
    const found = all.filter((s) => matches(s, filter)).at(-1);
    if (!found) throw new NotFoundError("no snapshot found");
    return found;
  }
  if (!/^[0-9a-f]{8,64}$/.test(ref))
    throw new ValidationError(`"${ref}" is not a snapshot id (8+ hex chars)`);
  const hits = all.filter((s) => s.id.startsWith(ref));
  if (hits.length === 0) throw new NotFoundError(`snapshot ${ref} not found`);
  if (hits.length > 1) throw new ValidationError(`snapshot prefix ${ref} is ambiguous`);
  return hits[0]!;
}
