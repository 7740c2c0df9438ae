/**
 * The irreversible half of prune, in the only safe order:
 *   1. new index files covering every pack that stays (kept + repacked-into), each confirmed;
 *      the last one written lists the old index files it supersedes;
 *   2. then the old index files are deleted;
 *   3. then the packs nothing indexes any more (removed, repacked, leftovers).
 * A crash before 2 leaves old and new index files side by side (both only name stored packs); a
 * crash during 2 or 3 leaves fewer index files or unindexed packs. Every state is a valid
 * repository, and the next prune finishes the job.
 */
import type { Backend } from "../../storage/backend.ts";
import { throwIfAborted } from "../../util/errors.ts";
import { sha256Hex } from "../crypto/aead.ts";
import type { MasterKeys } from "../crypto/keys.ts";
import { encodeIndex, type IndexPack } from "../repository/index-file.ts";
import { collectGarbage, type PackRecord } from "./load.ts";
import { storeConfirmed } from "./repack.ts";

/** Entries per new index file: about 4.6 MB of plaintext each. */
export const ENTRIES_PER_INDEX = 100_000;

/** Writes the new index files; returns their ids (the last supersedes `old`). */
export async function writeNewIndex(
  backend: Backend,
  keys: MasterKeys,
  kept: PackRecord[],
  fresh: IndexPack[],
  old: string[],
  signal?: AbortSignal,
): Promise<string[]> {
  const ids: string[] = [];
  let batch: (PackRecord | IndexPack)[] = [];
  let entries = 0;
  const write = async (supersedes: string[]) => {
    const bytes = encodeIndex({ supersedes, packs: batch }, keys);
    const id = sha256Hex(bytes);
    await storeConfirmed(backend, `index/${id}`, bytes, signal);
    ids.push(id);
    collectGarbage(entries); // the batch's entry objects and the encoded file
    batch = [];
    entries = 0;
  };
  // Kept packs are written from their encoded entries: no object per entry.
  const all: (PackRecord | IndexPack)[] = [...kept, ...fresh];
  for (const p of all) {
    throwIfAborted(signal);
    const count = "raw" in p ? p.count : p.entries.length;
    if (entries > 0 && entries + count > ENTRIES_PER_INDEX) await write([]);
    batch.push(p);
    entries += count;
  }
  await write(old);
  return ids;
}

/**
 * Deletes objects (idempotent), `concurrency` at a time: order only matters between the phases
 * (index files, then packs), never within one. Resolves when all are gone; the first failure
 * stops new deletions and is thrown.
 */
export async function deleteAll(
  backend: Backend,
  names: string[],
  signal?: AbortSignal,
  concurrency = 8,
): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < names.length) {
      const name = names[next++]!;
      try {
        throwIfAborted(signal);
        await backend.delete(name, { signal });
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  const results = await Promise.allSettled(
    Array.from({ length: Math.min(concurrency, names.length) }, worker),
  );
  const rejected = results.find((r) => r.status === "rejected");
  if (rejected) throw (rejected as PromiseRejectedResult).reason;
}
