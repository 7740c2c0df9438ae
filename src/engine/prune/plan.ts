/**
 * Deciding what prune does, without changing anything. Each blob reachable from a snapshot gets one
 * chosen copy, preferring packs with the most used bytes (so a rerun after a crash keeps the fresh
 * repacked copies and drops the old packs). Then every pack is:
 * - keep: all its bytes are chosen copies (or repacking it is not worth it, see maxUnusedPct),
 * - remove: none are,
 * - repack: partly used; its chosen blobs are copied into new packs and it is deleted.
 * Packs that are stored but in no index (left by interrupted runs) are deleted; indexed packs
 * that are missing are dropped from the index when nothing needs them, else prune refuses.
 */
import { IntegrityError } from "../../util/errors.ts";
import type { BlobSet } from "../repository/blob-set.ts";
import { ENTRY_BYTES, packName } from "../repository/pack-format.ts";
import type { LoadedIndex, PackRecord } from "./load.ts";

export interface PackUsage {
  pack: PackRecord;
  usedBytes: number;
  usedBlobs: number;
  unusedBytes: number;
  unusedBlobs: number;
}

export interface PrunePlan {
  keep: PackUsage[];
  repack: PackUsage[];
  remove: PackUsage[];
  /** Indexed packs not in storage and not needed: dropped from the index. */
  missing: string[];
  /** Object names of stored packs no index names. */
  unindexed: { name: string; size: number }[];
  /** Which pack holds the chosen copy of each used blob. */
  chosen: BlobSet;
  usedBlobs: number;
}

/** Calls `visit` with the offset and stored length of each of the pack's encoded entries. */
function eachEntry(p: PackRecord, visit: (at: number, length: number) => void): void {
  const view = new DataView(p.raw.buffer, p.raw.byteOffset, p.raw.byteLength);
  for (let k = 0, at = 0; k < p.count; k++, at += ENTRY_BYTES) visit(at, view.getUint32(at + 6, true));
}

function usageOf(pack: PackRecord, used: BlobSet): number {
  let bytes = 0;
  eachEntry(pack, (at, length) => {
    if (used.hasEntry(pack.raw, at)) bytes += length;
  });
  return bytes;
}

/** Assigns each used blob to one copy; packs visited from most to least used bytes. */
function chooseCopies(present: PackRecord[], used: BlobSet): { usage: PackUsage[]; chosen: BlobSet } {
  const weighted = present.map((p) => ({ p, w: usageOf(p, used) / Math.max(1, p.size) }));
  weighted.sort((a, b) => b.w - a.w || (a.p.id < b.p.id ? -1 : 1));
  const chosen = used.emptyLike();
  const usage: PackUsage[] = [];
  for (const { p } of weighted) {
    const u: PackUsage = { pack: p, usedBytes: 0, usedBlobs: 0, unusedBytes: 0, unusedBlobs: 0 };
    eachEntry(p, (at, length) => {
      if (used.hasEntry(p.raw, at) && chosen.addEntry(p.raw, at, p.id)) {
        u.usedBytes += length;
        u.usedBlobs++;
      } else {
        u.unusedBytes += length;
        u.unusedBlobs++;
      }
    });
    usage.push(u);
  }
  return { usage, chosen };
}

function missingUsed(used: BlobSet, chosen: BlobSet): string[] {
  const out: string[] = [];
  for (const b of used.entries()) {
    if (!chosen.has(b.type, b.id)) out.push(`${b.type} blob ${b.id}`);
    if (out.length >= 5) break;
  }
  return out;
}

/**
 * Repacks the partly used packs with the largest unused share until the unused bytes left are at
 * most maxUnusedPct percent of what remains stored.
 */
function pickRepacks(partial: PackUsage[], usedTotal: number, maxUnusedPct: number): Set<PackUsage> {
  const out = new Set<PackUsage>();
  if (maxUnusedPct >= 100) return out;
  const allowed = (usedTotal * maxUnusedPct) / (100 - maxUnusedPct);
  let unused = partial.reduce((s, u) => s + u.unusedBytes, 0);
  const byShare = [...partial].sort(
    (a, b) => b.unusedBytes / b.pack.size - a.unusedBytes / a.pack.size || (a.pack.id < b.pack.id ? -1 : 1),
  );
  for (const u of byShare) {
    if (unused <= allowed) break;
    out.add(u);
    unused -= u.unusedBytes;
  }
  return out;
}

export function planPrune(
  index: LoadedIndex,
  stored: Map<string, number>,
  used: BlobSet,
  maxUnusedPct: number,
): PrunePlan {
  const present: PackRecord[] = [];
  const absent: string[] = [];
  for (const p of index.packs.values()) {
    if (stored.has(packName(p.id))) present.push(p);
    else absent.push(p.id);
  }
  const { usage, chosen } = chooseCopies(present, used);
  if (chosen.size < used.size) {
    const examples = missingUsed(used, chosen);
    throw new IntegrityError(
      `prune: ${used.size - chosen.size} blob(s) used by snapshots are in no stored pack (e.g. ${examples.join(", ")}); run check — nothing was changed`,
    );
  }
  const plan: PrunePlan = {
    keep: [],
    repack: [],
    remove: [],
    missing: absent,
    unindexed: [],
    chosen,
    usedBlobs: used.size,
  };
  const partial = usage.filter((u) => u.usedBlobs > 0 && u.unusedBlobs > 0);
  const usedTotal = usage.reduce((s, u) => s + u.usedBytes, 0);
  const repack = pickRepacks(partial, usedTotal, maxUnusedPct);
  for (const u of usage) {
    if (u.usedBlobs === 0) plan.remove.push(u);
    else if (repack.has(u)) plan.repack.push(u);
    else plan.keep.push(u);
  }
  const indexed = new Set([...index.packs.keys()].map(packName));
  for (const [name, size] of stored) {
    if (!indexed.has(name) && isPackName(name)) plan.unindexed.push({ name, size });
  }
  return plan;
}

/**
 * Only objects named like packs ("data/<first 2 hex>/<64 hex>") are leftovers prune may delete;
 * anything else under data/ (a folder marker some S3 tools create, a stray file) is not ours:
 * the format says unknown names are ignored.
 */
function isPackName(name: string): boolean {
  return /^data\/([0-9a-f]{2})\/\1[0-9a-f]{62}$/.test(name);
}

/** True when carrying out the plan would change nothing but index file layout. */
export function planChangesPacks(plan: PrunePlan): boolean {
  return plan.repack.length + plan.remove.length + plan.missing.length + plan.unindexed.length > 0;
}
