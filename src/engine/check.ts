/**
 * `check`: verifies a repository and reports every problem found, naming the damaged object; it
 * never throws for damage (only for cancellation or an unreachable backend). Structure: index
 * files load, indexed packs exist with the right size, snapshots load, every tree reachable from a
 * snapshot loads and validates, every referenced blob is indexed. With readData (or a percentage
 * subset), packs are downloaded and every blob is authenticated, decrypted and its id checked.
 */
import { randomInt } from "node:crypto";
import { CancelledError, throwIfAborted } from "../util/errors.ts";
import { sha256Hex } from "./crypto/aead.ts";
import type { IndexEntry, PackInfo } from "./repository/blob-index.ts";
import { BlobSet } from "./repository/blob-set.ts";
import { packName, readPackHeader } from "./repository/pack-format.ts";
import type { RepositoryImpl } from "./repository/repository.ts";
import { listSnapshotIds, loadSnapshot } from "./repository/snapshots.ts";
import type { BlobId, ProgressListener } from "./types.ts";

export interface CheckOptions {
  readData?: boolean;
  /** Read this percentage (0–100] of packs, chosen at random. */
  readDataSubsetPct?: number;
  onProgress?: ProgressListener;
  /** Each phase as it starts (for `check -v`); `packs` is how many packs it covers, if any. */
  onStep?: (step: CheckStep, packs?: number) => void;
  signal?: AbortSignal;
}

export type CheckStep = "packs" | "read-data" | "snapshots";

export interface CheckProblem {
  object: string;
  message: string;
}

export interface CheckResult {
  errors: CheckProblem[];
  /** Indexed packs whose presence and size were checked. */
  packsChecked: number;
  /** Distinct blobs (trees and data) the snapshots reference, each checked once. */
  blobsChecked: number;
  /** Packs downloaded and authenticated (all with readData, a sample with a subset). */
  packsRead: number;
  /** Blobs authenticated in the packs read. */
  blobsRead: number;
  snapshots: number;
  /**
   * Packs stored but in no index file: left by an interrupted backup (harmless; prune removes
   * them) or, when blobs are also reported missing from the index, a lost index file.
   */
  unindexedPacks: number;
}

interface Ctx {
  repo: RepositoryImpl;
  errors: CheckProblem[];
  signal?: AbortSignal;
  /** Distinct blobs (trees and data) referenced: bits over the index, not a string per blob. */
  seen: BlobSet;
  blobsRead: number;
  /** Packs found missing or damaged, by id, with why: files whose data is there are named. */
  badPacks: Map<string, string>;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function rethrowCancel(e: unknown): void {
  if (e instanceof CancelledError) throw e;
}

export async function checkRepository(repo: RepositoryImpl, opts: CheckOptions = {}): Promise<CheckResult> {
  const ctx: Ctx = {
    repo,
    errors: [...repo.loadErrors],
    signal: opts.signal,
    seen: new BlobSet(repo.index),
    blobsRead: 0,
    badPacks: new Map(),
  };
  opts.onProgress?.({ type: "start", operation: "check", time: new Date().toISOString() });
  opts.onStep?.("packs", repo.index.packs().length);
  const { checked: packsChecked, unindexed: unindexedPacks } = await checkPacksExist(ctx);
  // Packs are read before the snapshots are walked so that files in damaged packs can be named.
  const pct = opts.readData ? 100 : (opts.readDataSubsetPct ?? 0);
  const sample = pct > 0 ? pickPacks(repo.index.packs(), pct) : [];
  if (sample.length > 0) opts.onStep?.("read-data", sample.length);
  if (sample.length > 0) await readPacks(ctx, sample, opts.onProgress);
  opts.onStep?.("snapshots");
  const snapshots = await checkSnapshots(ctx);
  return {
    errors: ctx.errors,
    packsChecked,
    blobsChecked: ctx.seen.size,
    packsRead: sample.length,
    blobsRead: ctx.blobsRead,
    snapshots,
    unindexedPacks,
  };
}

async function checkPacksExist(ctx: Ctx): Promise<{ checked: number; unindexed: number }> {
  const stored = new Map<string, number>();
  for await (const o of ctx.repo.backend.list("data/", { signal: ctx.signal })) stored.set(o.name, o.size);
  let n = 0;
  for (const p of ctx.repo.index.packs()) {
    const name = packName(p.id);
    const size = stored.get(name);
    if (size === undefined) {
      ctx.errors.push({ object: name, message: "pack is in the index but missing" });
      ctx.badPacks.set(p.id, "missing");
    } else if (size !== p.size) {
      ctx.errors.push({ object: name, message: `pack size ${size} differs from indexed size ${p.size}` });
      ctx.badPacks.set(p.id, "damaged");
    }
    n++;
    stored.delete(name);
  }
  // What is left is stored but indexed nowhere.
  return { checked: n, unindexed: stored.size };
}

async function checkSnapshots(ctx: Ctx): Promise<number> {
  const ids = await listSnapshotIds(ctx.repo.backend, ctx.signal);
  for (const id of ids) {
    throwIfAborted(ctx.signal);
    try {
      const snap = await loadSnapshot(ctx.repo.backend, ctx.repo.masterKeys, id, ctx.signal);
      await walkTrees(ctx, snap.tree, `snapshot ${id.slice(0, 12)}`);
    } catch (e) {
      rethrowCancel(e);
      ctx.errors.push({ object: `snapshots/${id}`, message: message(e) });
    }
  }
  return ids.length;
}

/** Depth-first over the trees of one snapshot; trees already checked are skipped. */
async function walkTrees(ctx: Ctx, root: BlobId, label: string): Promise<void> {
  const stack: { id: BlobId; path: string }[] = [{ id: root, path: "/" }];
  while (stack.length > 0) {
    throwIfAborted(ctx.signal);
    const { id, path } = stack.pop()!;
    if (!ctx.seen.add("tree", id)) continue;
    const where = `tree ${id} (${label}, path ${path})`;
    if (!ctx.repo.index.has("tree", id)) {
      ctx.errors.push({ object: `tree/${id}`, message: `${where}: not in the index` });
      continue;
    }
    const treePack = badPackOf(ctx, "tree", id);
    if (treePack) {
      ctx.errors.push({
        object: `tree/${id}`,
        message: `${where}: in ${treePack}: everything below is lost`,
      });
      continue;
    }
    let nodes: Awaited<ReturnType<RepositoryImpl["loadTree"]>>["nodes"];
    try {
      nodes = (await ctx.repo.loadTree(id, ctx.signal)).nodes;
    } catch (e) {
      rethrowCancel(e);
      ctx.errors.push({ object: `tree/${id}`, message: `${where}: ${message(e)}` });
      continue;
    }
    for (const node of nodes) {
      const child = path === "/" ? `/${node.name}` : `${path}/${node.name}`;
      if (node.subtree) stack.push({ id: node.subtree, path: child });
      checkContent(ctx, node.content ?? [], child, label);
    }
  }
}

/** The pack holding a blob, named with what is wrong with it, when check found it missing or damaged. */
function badPackOf(ctx: Ctx, type: "tree" | "data", id: BlobId): string | undefined {
  if (ctx.badPacks.size === 0) return undefined;
  const pack = ctx.repo.index.get(type, id)?.pack;
  const why = pack === undefined ? undefined : ctx.badPacks.get(pack);
  return why === undefined ? undefined : `${why} pack ${pack!.slice(0, 12)}`;
}

/** Every data blob of one file is indexed, and in no pack found bad (named once per file). */
function checkContent(ctx: Ctx, content: readonly BlobId[], child: string, label: string): void {
  let named = false;
  for (const blob of content) {
    const bad = named ? undefined : badPackOf(ctx, "data", blob);
    if (bad) {
      named = true;
      ctx.errors.push({ object: `file ${child}`, message: `${label}: data in ${bad}` });
    }
    // Each distinct blob is counted and looked up once; every file with data in a bad pack is named.
    if (!ctx.seen.add("data", blob)) continue;
    if (!ctx.repo.index.has("data", blob)) {
      ctx.errors.push({
        object: `data/${blob}`,
        message: `data blob of ${child} (${label}) is not in the index`,
      });
    }
  }
}

function pickPacks(packs: readonly PackInfo[], pct: number): PackInfo[] {
  if (pct >= 100) return [...packs];
  const want = Math.max(1, Math.ceil((packs.length * pct) / 100));
  const pool = [...packs];
  for (let i = pool.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, Math.min(want, pool.length));
}

/** Entry numbers per pack: an entry object each, for 5 million blobs, would be gigabytes. */
function entriesByPack(repo: RepositoryImpl, wanted: Set<string>): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (let n = 0; n < repo.index.size; n++) {
    const pack = repo.index.packOfEntry(n);
    if (!wanted.has(pack)) continue;
    const list = out.get(pack);
    if (list) list.push(n);
    else out.set(pack, [n]);
  }
  return out;
}

async function readPacks(ctx: Ctx, packs: PackInfo[], onProgress?: ProgressListener): Promise<void> {
  const indexed = entriesByPack(ctx.repo, new Set(packs.map((p) => p.id)));
  const total = packs.reduce((s, p) => s + p.size, 0);
  const started = Date.now();
  let done = 0;
  let count = 0;
  let next = 0;
  // Two packs in flight: hides storage latency, keeps at most two packs in memory.
  const lane = async () => {
    while (next < packs.length) {
      throwIfAborted(ctx.signal);
      const pack = packs[next++]!;
      await readPack(
        ctx,
        pack,
        (indexed.get(pack.id) ?? []).map((n) => ctx.repo.index.entryAt(n)),
      );
      done += pack.size;
      count++;
      const elapsed = Date.now() - started;
      onProgress?.({
        type: "progress",
        files_done: count,
        files_total: packs.length,
        bytes_done: done,
        bytes_total: total,
        current: [packName(pack.id)],
        rate: elapsed > 0 ? (done * 1000) / elapsed : 0,
        eta: done > 0 ? ((total - done) * elapsed) / done / 1000 : null,
        errors: ctx.errors.length,
        elapsed_ms: elapsed,
      });
    }
  };
  await Promise.all([lane(), lane()]);
}

/** Downloads one pack and verifies its name, header, index agreement and every blob. */
async function readPack(ctx: Ctx, pack: PackInfo, indexed: IndexEntry[]): Promise<void> {
  const name = packName(pack.id);
  const fail = (m: string) => {
    ctx.errors.push({ object: name, message: m });
    ctx.badPacks.set(pack.id, "damaged");
  };
  let bytes: Uint8Array;
  try {
    bytes = await ctx.repo.backend.get(name, { signal: ctx.signal });
  } catch (e) {
    rethrowCancel(e);
    return void fail(`cannot read: ${message(e)}`);
  }
  if (sha256Hex(bytes) !== pack.id) fail("content does not match its name (SHA-256)");
  let header: Awaited<ReturnType<typeof readPackHeader>>;
  try {
    const get = async (offset: number, length: number) => bytes.subarray(offset, offset + length);
    header = await readPackHeader(get, bytes.byteLength, ctx.repo.masterKeys.encrypt);
  } catch (e) {
    return void fail(`header: ${message(e)}`);
  }
  const inHeader = new Set(header.entries.map((e) => `${e.type}:${e.id}:${e.offset}:${e.length}`));
  for (const e of indexed) {
    if (!inHeader.has(`${e.type}:${e.id}:${e.offset}:${e.length}`)) {
      fail(`${e.type} blob ${e.id}: index entry not found in the pack header`);
    }
  }
  for (const e of header.entries) {
    ctx.blobsRead++;
    try {
      ctx.repo.openStored(
        { id: pack.id, salt: header.salt },
        e,
        bytes.subarray(e.offset, e.offset + e.length),
      );
    } catch (err) {
      fail(message(err));
    }
  }
}
