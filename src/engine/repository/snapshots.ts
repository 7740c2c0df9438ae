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
    // Only when set: snapshots without it keep exactly the bytes (and id) they always had.
    ...(s.xattrs === true ? { xattrs: true } : {}),
  };
  if (!isHexId(input.tree)) throw new ValidationError("snapshot tree is not a blob id");
  const bytes = sealWith(keys, "snapshot", utf8(JSON.stringify(input)));
  return { id: sha256Hex(bytes), bytes };
}

export function decodeSnapshot(id: string, stored: Uint8Array, keys: MasterKeys): Snapshot {
  if (sha256Hex(stored) !== id) throw new IntegrityError("content does not match its name (SHA-256)");
  let s: SnapshotInput;
  try {
    s = JSON.parse(new TextDecoder().decode(openWith(keys, "snapshot", stored))) as SnapshotInput;
  } catch (e) {
    if (e instanceof IntegrityError) throw e;
    throw new IntegrityError("malformed snapshot", { cause: e });
  }
  const problem = shapeProblem(s);
  if (problem) throw new IntegrityError(`malformed snapshot: ${problem}`);
  return { ...s, id };
}

const SUMMARY_COUNTS = [
  "files_new",
  "files_changed",
  "files_unmodified",
  "dirs",
  "bytes_processed",
  "bytes_added",
  "bytes_stored",
  "duration_ms",
] as const;

const isStrings = (x: unknown) => Array.isArray(x) && x.every((v) => typeof v === "string");

/**
 * What is wrong with a decoded snapshot's shape, or null. Every field is checked: listing,
 * retention and stats use them all, and one odd snapshot must be reported as damaged, not crash
 * every command that lists snapshots.
 */
function shapeProblem(s: SnapshotInput): string | null {
  if (!s || typeof s !== "object") return "not an object";
  if (typeof s.time !== "string" || Number.isNaN(Date.parse(s.time))) return "bad time";
  if (!isHexId(s.tree)) return "tree is not a blob id";
  if (!(s.parent === null || isHexId(s.parent))) return "parent is not a snapshot id";
  if (typeof s.hostname !== "string" || typeof s.username !== "string") return "bad hostname or username";
  if (!isStrings(s.paths) || !isStrings(s.tags)) return "paths and tags must be lists of strings";
  if (typeof s.program_version !== "string") return "bad program_version";
  if (s.xattrs !== undefined && typeof s.xattrs !== "boolean") return "xattrs must be true or false";
  const sum = s.summary as unknown as Partial<Record<string, unknown>> | null;
  if (!sum || typeof sum !== "object") return "no summary";
  if (!SUMMARY_COUNTS.every((k) => typeof sum[k] === "number" && Number.isFinite(sum[k]))) {
    return "summary counts must be numbers";
  }
  const errorsOk =
    Array.isArray(sum.errors) &&
    sum.errors.every(
      (e: { path?: unknown; message?: unknown } | null) =>
        e !== null && typeof e === "object" && typeof e.path === "string" && typeof e.message === "string",
    );
  return errorsOk ? null : "summary errors must be {path, message} objects";
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

/** Called for a snapshot object that cannot be read (damaged, or not a snapshot). */
export type OnDamagedSnapshot = (id: string, error: Error) => void;

/**
 * Every snapshot, oldest first (by time, then id). Without `onDamaged` an unreadable snapshot
 * object fails the whole listing (what prune and forget need: they must not act on a partial
 * view). With it, such an object is reported and left out, so one damaged snapshot does not stop
 * listing, restoring or backing up from the others (check names it).
 */
export async function loadAllSnapshots(
  backend: Backend,
  keys: MasterKeys,
  signal?: AbortSignal,
  onDamaged?: OnDamagedSnapshot,
): Promise<Snapshot[]> {
  const ids = await listSnapshotIds(backend, signal);
  const out = await mapLimit(ids, 8, async (id) => {
    throwIfAborted(signal);
    try {
      return await loadSnapshot(backend, keys, id, signal);
    } catch (e) {
      // Damage is skipped; a storage failure or cancellation still ends the listing.
      if (!onDamaged || !(e instanceof IntegrityError)) throw e;
      onDamaged(id, e);
      return null;
    }
  });
  return out
    .filter((s): s is Snapshot => s !== null)
    .sort((a, b) => a.time.localeCompare(b.time) || a.id.localeCompare(b.id));
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

const REF_HELP = 'give "latest", a full snapshot id or a unique prefix of at least 8 hex characters';

/**
 * Checks the form of a snapshot reference: "latest", or 8 to 64 hex characters (upper case is
 * accepted and lowered). Returns it normalised; ValidationError saying what is wrong otherwise.
 */
export function parseSnapshotRef(ref: string): string {
  if (ref === "latest") return ref;
  const hex = ref.toLowerCase();
  if (!/^[0-9a-f]*$/.test(hex) || hex === "" || hex.length > 64) {
    throw new ValidationError(`"${ref}" is not a snapshot id: ${REF_HELP}`);
  }
  if (hex.length < 8) throw new ValidationError(`snapshot id prefix "${ref}" is too short: ${REF_HELP}`);
  return hex;
}

/** The one id among `ids` that starts with the (parsed) prefix. NotFound / ambiguous errors. */
export function pickSnapshotId(ids: string[], prefix: string): string {
  const hits = ids.filter((id) => id.startsWith(prefix));
  if (hits.length === 0) throw new NotFoundError(`snapshot ${prefix} not found`);
  if (hits.length > 1) {
    const shown = hits
      .slice(0, 4)
      .map((h) => h.slice(0, prefix.length + 4))
      .join(", ");
    throw new ValidationError(
      `snapshot prefix ${prefix} is ambiguous: it matches ${hits.length} snapshots (${shown}${hits.length > 4 ? ", …" : ""}); give more characters`,
    );
  }
  return hits[0]!;
}

/** Resolves "latest", a full id or a unique prefix of ≥ 8 hex characters among loaded snapshots. */
export function pickSnapshot(all: Snapshot[], ref: string, filter?: SnapshotFilter): Snapshot {
  const parsed = parseSnapshotRef(ref);
  if (parsed === "latest") {
    const found = all.filter((s) => matches(s, filter)).at(-1);
    if (!found) throw new NotFoundError("no snapshot found");
    return found;
  }
  const id = pickSnapshotId(
    all.map((s) => s.id),
    parsed,
  );
  return all.find((s) => s.id === id)!;
}
