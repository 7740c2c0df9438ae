/**
 * Copying the chosen blobs of partly used packs into new packs. Blobs are authenticated and
 * decrypted (each pack has its own subkey), then sealed again into fresh packs by the same code
 * the backup path uses. Each new pack is uploaded and confirmed (stat, size) before it counts;
 * nothing is deleted here, so a crash leaves only unindexed new packs that the next prune removes.
 */
import type { Backend } from "../../storage/backend.ts";
import { IntegrityError, throwIfAborted, wrapError } from "../../util/errors.ts";
import type { BlobSet } from "../repository/blob-set.ts";
import type { IndexPack } from "../repository/index-file.ts";
import { packName } from "../repository/pack-format.ts";
import type { RepositoryImpl } from "../repository/repository.ts";
import { type CoreReply, type FinishedPack, SealCore } from "../repository/seal-core.ts";
import { collectGarbage, packEntries } from "./load.ts";
import type { PackUsage } from "./plan.ts";

/** Uploads a pack and checks the store reports it with the right size. */
export async function storeConfirmed(
  backend: Backend,
  name: string,
  bytes: Uint8Array,
  signal?: AbortSignal,
): Promise<void> {
  await backend.put(name, bytes, { signal });
  const info = await backend.stat(name, { signal });
  if (info.size !== bytes.byteLength) {
    throw new IntegrityError(`${name}: stored size ${info.size} differs from written ${bytes.byteLength}`);
  }
}

const COLLECT_EVERY = 64 * 1024 * 1024;

export interface RepackProgress {
  packsDone: number;
  bytesDone: number;
}

export async function repackPacks(
  repo: RepositoryImpl,
  packs: PackUsage[],
  chosen: BlobSet,
  opts: { packSize: number; signal?: AbortSignal; onPack?: (p: RepackProgress) => void },
): Promise<IndexPack[]> {
  const finished: FinishedPack[] = [];
  const written: IndexPack[] = [];
  const core = new SealCore((r: CoreReply) => {
    if (r.kind === "pack") finished.push(r.pack);
    else if (r.kind === "failed") throw new IntegrityError(`repack: ${r.message}`);
  });
  // Ids were just verified by openStored; no second HMAC.
  core.handle({ kind: "init", encKey: repo.masterKeys.encrypt, macKey: null, packSize: opts.packSize });
  const upload = async () => {
    while (finished.length > 0) {
      const p = finished.shift()!;
      await storeConfirmed(repo.backend, packName(p.id), p.bytes, opts.signal);
      written.push({ id: p.id, size: p.bytes.byteLength, salt: p.salt, entries: p.entries });
    }
  };
  let seq = 0;
  let bytesDone = 0;
  for (const [i, u] of packs.entries()) {
    throwIfAborted(opts.signal);
    const p = u.pack;
    let bytes: Uint8Array;
    try {
      bytes = await repo.backend.get(packName(p.id), { signal: opts.signal });
    } catch (e) {
      throw wrapError(`repack: read pack ${p.id.slice(0, 12)}`, e);
    }
    for (const e of packEntries(p)) {
      if (chosen.packOf(e.type, e.id) !== p.id) continue;
      const plain = repo.openStored(p, e, bytes.subarray(e.offset, e.offset + e.length));
      core.handle({
        kind: "blob",
        seq: seq++,
        type: e.type,
        id: e.id,
        plaintext: plain,
        level: e.compression ? 3 : 0,
      });
    }
    await upload();
    // Downloaded packs are big short-lived buffers: collect every 64 MiB read.
    if (Math.floor((bytesDone + p.size) / COLLECT_EVERY) > Math.floor(bytesDone / COLLECT_EVERY))
      collectGarbage();
    bytesDone += p.size;
    opts.onPack?.({ packsDone: i + 1, bytesDone });
  }
  core.handle({ kind: "flush", seq: seq++ });
  await upload();
  return written;
}
