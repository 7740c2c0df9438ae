/**
 * Index repair: packs stored without an index file (a backup interrupted between uploading packs
 * and writing the index, or an index file lost) are read back through their headers and indexed.
 * Only adds index files, so a shared lock suffices.
 */
import { CancelledError, throwIfAborted } from "../../util/errors.ts";
import { sha256Hex } from "../crypto/aead.ts";
import { encodeIndex, type IndexPack } from "./index-file.ts";
import { readPackHeader } from "./pack-format.ts";
import type { RepositoryImpl } from "./repository.ts";

export interface AdoptResult {
  /** Packs newly indexed. */
  packs: number;
  /** Blobs they hold. */
  blobs: number;
  /** New index file id, or null when nothing was adopted. */
  indexFile: string | null;
  /** Packs whose header could not be read (damaged); left alone. */
  errors: { object: string; message: string }[];
}

export async function adoptUnindexedPacks(repo: RepositoryImpl, signal?: AbortSignal): Promise<AdoptResult> {
  const adopted: IndexPack[] = [];
  const errors: AdoptResult["errors"] = [];
  for await (const o of repo.backend.list("data/", { signal })) {
    throwIfAborted(signal);
    const id = o.name.split("/").at(-1) ?? "";
    if (repo.index.hasPack(id)) continue;
    try {
      const bytes = await repo.backend.get(o.name, { signal });
      if (sha256Hex(bytes) !== id) throw new Error("content does not match its name");
      const get = async (offset: number, length: number) => bytes.subarray(offset, offset + length);
      const header = await readPackHeader(get, bytes.byteLength, repo.masterKeys.encrypt);
      adopted.push({ id, size: bytes.byteLength, salt: header.salt, entries: header.entries });
    } catch (e) {
      if (e instanceof CancelledError) throw e;
      errors.push({ object: o.name, message: e instanceof Error ? e.message : String(e) });
    }
  }
  if (adopted.length === 0) return { packs: 0, blobs: 0, indexFile: null, errors };
  const bytes = encodeIndex({ supersedes: [], packs: adopted }, repo.masterKeys);
  const indexFile = sha256Hex(bytes);
  await repo.backend.put(`index/${indexFile}`, bytes, { signal });
  let blobs = 0;
  for (const p of adopted) {
    const n = repo.index.addPack({ id: p.id, size: p.size, salt: p.salt });
    for (const e of p.entries) repo.index.add(n, e);
    blobs += p.entries.length;
  }
  repo.indexFiles.push(indexFile);
  return { packs: adopted.length, blobs, indexFile, errors };
}
