/**
 * prune: reclaims the space of data no snapshot references. The caller must hold the exclusive
 * lock (openRepository(..., { lock: "exclusive" })): no backup can then be writing packs whose
 * index is not yet stored, which is why packs in no index are deleted without a grace period.
 *
 * Steps (see prune/commit.ts for why this order is crash-safe):
 *   load all index files, list stored packs, mark blobs reachable from every snapshot, plan;
 *   repack partly used packs into new confirmed packs; write and confirm the new index;
 *   delete the superseded index files; delete unreferenced, repacked and leftover packs.
 * Prune refuses (IntegrityError, nothing changed) when an index file or tree cannot be read or a
 * used blob is in no stored pack: deleting on a partial view could destroy data.
 */
import { IntegrityError, ValidationError, wrapError } from "../util/errors.ts";
import { deleteAll, writeNewIndex } from "./prune/commit.ts";
import { requireExclusiveLock } from "./prune/guard.ts";
import { collectGarbage, listStoredPacks, loadAllIndexFiles, markUsed } from "./prune/load.ts";
import { type PrunePlan, planChangesPacks, planPrune } from "./prune/plan.ts";
import { repackPacks } from "./prune/repack.ts";
import { DEFAULT_PACK_SIZE } from "./repository/open.ts";
import { packName } from "./repository/pack-format.ts";
import type { RepositoryImpl } from "./repository/repository.ts";
import type { ProgressListener } from "./types.ts";

export const DEFAULT_MAX_UNUSED_PCT = 5;

export type PruneStep =
  | "load"
  | "mark"
  | "plan"
  | "repack"
  | "write-index"
  | "delete-index"
  | "delete-packs"
  | "done";

export interface PruneOptions {
  /** Unused bytes tolerated in kept packs, as a percentage of used bytes stored (default 5). */
  maxUnusedPct?: number;
  /** Plan and report only. */
  dryRun?: boolean;
  /** Size of repacked packs (default 16 MiB). */
  packSize?: number;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  /** Snapshot ids to treat as already forgotten (`forget --dry-run --prune` previews). */
  excludeSnapshots?: string[];
  /** Called as each step starts (CLI verbosity, tests). */
  onStep?: (step: PruneStep) => void | Promise<void>;
}

export interface PruneReport {
  dryRun: boolean;
  snapshots: number;
  usedBlobs: number;
  packs: {
    before: number;
    kept: number;
    repacked: number;
    removed: number;
    unindexed: number;
    written: number;
  };
  bytes: {
    before: number;
    /** Bytes of used blobs in kept + repacked packs. */
    used: number;
    /** Bytes freed (deleted packs − new packs), estimated on a dry run. */
    freed: number;
    /** Unused bytes left in kept packs. */
    unusedLeft: number;
  };
  indexFiles: { before: number; written: number };
  /** Indexed packs that were missing from storage and not needed (dropped from the index). */
  missingPacks: string[];
}

function checkPct(pct: number): number {
  if (!(pct >= 0 && pct <= 100)) throw new ValidationError(`max unused must be 0–100 %, got ${pct}`);
  return pct;
}

function report(
  plan: PrunePlan,
  before: { bytes: number; files: number; snapshots: number },
  dryRun: boolean,
): PruneReport {
  const sum = (xs: { pack: { size: number } }[]) => xs.reduce((s, u) => s + u.pack.size, 0);
  const repackUsed = plan.repack.reduce((s, u) => s + u.usedBytes, 0);
  const unindexed = plan.unindexed.reduce((s, u) => s + u.size, 0);
  return {
    dryRun,
    snapshots: before.snapshots,
    usedBlobs: plan.usedBlobs,
    packs: {
      before: plan.keep.length + plan.repack.length + plan.remove.length,
      kept: plan.keep.length,
      repacked: plan.repack.length,
      removed: plan.remove.length,
      unindexed: plan.unindexed.length,
      written: 0,
    },
    bytes: {
      before: before.bytes,
      used: plan.keep.reduce((s, u) => s + u.usedBytes, 0) + repackUsed,
      freed: sum(plan.remove) + sum(plan.repack) + unindexed - repackUsed,
      unusedLeft: plan.keep.reduce((s, u) => s + u.unusedBytes, 0),
    },
    indexFiles: { before: before.files, written: 0 },
    missingPacks: plan.missing,
  };
}

export async function pruneRepository(
  repo: RepositoryImpl,
  options: PruneOptions = {},
): Promise<PruneReport> {
  const { signal, onStep } = options;
  const maxUnused = checkPct(options.maxUnusedPct ?? DEFAULT_MAX_UNUSED_PCT);
  options.onProgress?.({ type: "start", operation: "prune", time: new Date().toISOString() });
  if (!options.dryRun) await requireExclusiveLock(repo, "at the start");
  await onStep?.("load");
  const index = await loadAllIndexFiles(repo.backend, repo.masterKeys, signal);
  const stored = await listStoredPacks(repo.backend, signal);
  const excluded = new Set(options.excludeSnapshots ?? []);
  const snapshots = (await listAllSnapshots(repo, signal)).filter((s) => !excluded.has(s.id));
  await onStep?.("mark");
  const used = await markUsed(repo, snapshots, signal);
  collectGarbage(used.size);
  await onStep?.("plan");
  const plan = planPrune(index, stored, used, maxUnused);
  collectGarbage(used.size);
  let storedBytes = 0;
  for (const size of stored.values()) storedBytes += size;
  const out = report(
    plan,
    { bytes: storedBytes, files: index.files.length, snapshots: snapshots.length },
    options.dryRun === true,
  );
  const needsIndex = planChangesPacks(plan) || index.files.length > 1;
  if (options.dryRun || !needsIndex) {
    await onStep?.("done");
    return out;
  }
  await onStep?.("repack");
  const fresh = await repackPacks(repo, plan.repack, plan.chosen, {
    packSize: options.packSize ?? DEFAULT_PACK_SIZE,
    signal,
    onPack: (p) => progress(options, p.packsDone, plan.repack.length, p.bytesDone),
  });
  out.packs.written = fresh.length;
  out.bytes.freed -= fresh.reduce((s, p) => s + p.size, 0) - plan.repack.reduce((s, u) => s + u.usedBytes, 0);
  await requireExclusiveLock(repo, "before writing the index");
  await onStep?.("write-index");
  const kept = plan.keep.map((u) => u.pack);
  const written = await writeNewIndex(repo.backend, repo.masterKeys, kept, fresh, index.files, signal);
  out.indexFiles.written = written.length;
  await requireExclusiveLock(repo, "before deleting");
  await onStep?.("delete-index");
  await deleteAll(
    repo.backend,
    index.files.map((id) => `index/${id}`),
    signal,
  );
  await onStep?.("delete-packs");
  const doomed = [
    ...plan.remove.map((u) => packName(u.pack.id)),
    ...plan.repack.map((u) => packName(u.pack.id)),
    ...plan.unindexed.map((u) => u.name),
  ];
  await deleteAll(repo.backend, doomed, signal);
  await onStep?.("done");
  return out;
}

/** Every snapshot; one that cannot be read stops prune (its data would look unused). */
async function listAllSnapshots(repo: RepositoryImpl, signal?: AbortSignal) {
  try {
    return await repo.listSnapshots(signal);
  } catch (e) {
    if (!(e instanceof IntegrityError)) throw e;
    throw wrapError(
      'prune: a snapshot cannot be read, nothing was changed (run check; "forget ID" removes a damaged snapshot)',
      e,
    );
  }
}

function progress(options: PruneOptions, done: number, total: number, bytes: number): void {
  options.onProgress?.({
    type: "progress",
    files_done: done,
    files_total: total,
    bytes_done: bytes,
    bytes_total: 0,
    current: [],
    rate: 0,
    eta: null,
    errors: 0,
    elapsed_ms: 0,
  });
}

export type { PrunePlan } from "./prune/plan.ts";
