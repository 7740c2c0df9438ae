/**
 * repair index: after packs were lost or damaged in the bucket, the index stops naming them, so
 * nothing trusts data that is gone. The next backup then finds those blobs missing from the index
 * and stores them again from its sources (files whose content is not indexed are re-read, never
 * reused from the parent); what no source brings back stays named by `check`.
 *
 * Order (each state a valid repository, as prune's commit): packs stored but indexed nowhere are
 * adopted from their headers (an extra index file); a new index of the packs that stay is written
 * and confirmed, superseding the old index files; then the old index files are deleted. Damaged
 * packs stay stored but unindexed (prune deletes them). Needs the exclusive lock: a backup's
 * packs whose index is not yet written must not be judged.
 */
import { throwIfAborted } from "../util/errors.ts";
import { sha256Hex } from "./crypto/aead.ts";
import { deleteAll, writeNewIndex } from "./prune/commit.ts";
import { requireExclusiveLock } from "./prune/guard.ts";
import { listStoredPacks, loadAllIndexFiles, type PackRecord } from "./prune/load.ts";
import { packName } from "./repository/pack-format.ts";
import { adoptUnindexedPacks } from "./repository/rebuild-index.ts";
import type { RepositoryImpl } from "./repository/repository.ts";

export interface RepairIndexOptions {
  /** Also download every indexed pack and drop those whose bytes do not match their name. */
  readData?: boolean;
  signal?: AbortSignal;
}

export interface DroppedPack {
  pack: string;
  reason: string;
  /** Blobs the index no longer names. */
  blobs: number;
}

export interface RepairIndexResult {
  dropped: DroppedPack[];
  /** Packs indexed again from their headers. */
  adopted: number;
  /** Index files replaced (0 when nothing was dropped). */
  replaced: number;
}

async function whatIsWrong(
  repo: RepositoryImpl,
  p: PackRecord,
  stored: Map<string, number>,
  readData: boolean,
  signal?: AbortSignal,
): Promise<string | null> {
  const size = stored.get(packName(p.id));
  if (size === undefined) return "missing";
  if (size !== p.size) return `size ${size} differs from indexed size ${p.size}`;
  if (!readData) return null;
  const bytes = await repo.backend.get(packName(p.id), { signal });
  return sha256Hex(bytes) === p.id ? null : "content does not match its name";
}

export async function repairIndex(
  repo: RepositoryImpl,
  opts: RepairIndexOptions = {},
): Promise<RepairIndexResult> {
  const { signal } = opts;
  await requireExclusiveLock(repo, "at the start of repair index");
  const loaded = await loadAllIndexFiles(repo.backend, repo.masterKeys, signal);
  const stored = await listStoredPacks(repo.backend, signal);
  const kept: PackRecord[] = [];
  const dropped: DroppedPack[] = [];
  for (const p of loaded.packs.values()) {
    throwIfAborted(signal);
    const reason = await whatIsWrong(repo, p, stored, opts.readData === true, signal);
    if (reason === null) kept.push(p);
    else dropped.push({ pack: p.id, reason, blobs: p.count });
  }
  const adopted = (await adoptUnindexedPacks(repo, signal)).packs;
  if (dropped.length === 0) return { dropped, adopted, replaced: 0 };
  await requireExclusiveLock(repo, "before writing the new index");
  await writeNewIndex(repo.backend, repo.masterKeys, kept, [], loaded.files, signal);
  await deleteAll(
    repo.backend,
    loaded.files.map((f) => `index/${f}`),
    signal,
  );
  return { dropped, adopted, replaced: loaded.files.length };
}
