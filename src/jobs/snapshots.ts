/**
 * Browsing snapshots for the web layer (issue 10): list a destination's snapshots (with the job
 * each belongs to, read from its `job:<configId>` tag), list a directory page, search, a file's
 * versions across a job's snapshots, and downloads (in a child process). Every id is judged for the principal first
 * (another user's destination or job reads as missing). The engine is loaded on first use.
 */
import { isAdmin, ownedOrNotFound, type Principal } from "../auth/permissions.ts";
import { findConfigRecord } from "../db/backup-configs.ts";
import type { Db } from "../db/client.ts";
import { type DestinationRow, findDestinationRow, listDestinationRows } from "../db/destinations.ts";
import type { SearchPage, TreePage, VersionItem } from "../engine/browse/index.ts";
import type { Snapshot } from "../engine/types.ts";
import { NotFoundError, ValidationError } from "../util/errors.ts";
import { BrowseCache, type OpenedRepository } from "./browse-cache.ts";
import type { ChildDownload } from "./download-process.ts";
import { DownloadSlots } from "./download-slots.ts";
import { repositoryTargetSpecLazy } from "./snapshot-paths.ts";

export { resolveRequestPath } from "./snapshot-paths.ts";

export interface SnapshotsDeps {
  db: Db;
  dataDir: string;
  browse: BrowseCache;
  /** Downloads per user at once (default: the server's shared DownloadSlots). */
  downloads?: DownloadSlots;
  /** The child's command line (default: this program's `__run`). */
  childCommand?: string[];
}

export interface SnapshotJson {
  id: string;
  time: string;
  hostname: string;
  paths: string[];
  tags: string[];
  configId: string | null;
  destinationId: string;
  summary: Snapshot["summary"] | null;
}

const JOB_TAG = "job:";
/** A full id, a unique prefix (8 hex digits or more) or "latest". */
const SNAPSHOT_REF = /^(latest|[0-9a-f]{8,64})$/;
const PAGE = 100;

let sharedCache: BrowseCache | null = null;
/** The server's one cache of open repositories. */
export function browseCache(): BrowseCache {
  sharedCache ??= new BrowseCache();
  return sharedCache;
}

/** The destination when `p` may see it (NotFoundError otherwise). */
export function visibleDestination(db: Db, p: Principal, id: string): DestinationRow {
  return ownedOrNotFound(p, findDestinationRow(db, id), "destination");
}

/** Runs `use` on the destination's open repository (p must see it). */
export async function withRepository<T>(
  deps: SnapshotsDeps,
  p: Principal,
  destinationId: string,
  use: (opened: OpenedRepository) => Promise<T>,
): Promise<T> {
  const dest = visibleDestination(deps.db, p, destinationId);
  const spec = await repositoryTargetSpecLazy();
  return deps.browse.with(dest.id, () => spec({ db: deps.db, dataDir: deps.dataDir }, dest.id), use);
}

function configIdOf(snapshot: Snapshot): string | null {
  const tag = snapshot.tags.find((t) => t.startsWith(JOB_TAG));
  return tag ? tag.slice(JOB_TAG.length) : null;
}

function snapshotJson(s: Snapshot, destinationId: string): SnapshotJson {
  return {
    id: s.id,
    time: s.time,
    hostname: s.hostname,
    paths: s.paths,
    tags: s.tags,
    configId: configIdOf(s),
    destinationId,
    summary: s.summary ?? null,
  };
}

/** Snapshots of the destination's repository, newest first, those of `configId` only when given. */
async function destinationSnapshots(
  deps: SnapshotsDeps,
  p: Principal,
  destinationId: string,
  configId: string | undefined,
  signal?: AbortSignal,
): Promise<SnapshotJson[]> {
  return withRepository(deps, p, destinationId, async ({ repo }) => {
    const all = await repo.listSnapshots(signal, () => {});
    return all
      .map((s) => snapshotJson(s, destinationId))
      .filter((s) => configId === undefined || s.configId === configId);
  });
}

export interface SnapshotQuery {
  configId?: string;
  destinationId?: string;
  cursor?: string;
  limit?: number;
}

/**
 * Snapshots newest first. With a job: its destination's snapshots tagged with it; with a
 * destination: all of its repository's; with neither: every destination `p` may see.
 */
export async function listSnapshotsFor(
  deps: SnapshotsDeps,
  p: Principal,
  q: SnapshotQuery,
  signal?: AbortSignal,
): Promise<{
  items: SnapshotJson[];
  nextCursor: string | null;
  unavailable: { destinationId: string; message: string }[];
}> {
  let destinations: string[];
  if (q.configId) {
    const config = ownedOrNotFound(p, findConfigRecord(deps.db, q.configId), "backup job");
    if (q.destinationId && q.destinationId !== config.destinationId)
      return { items: [], nextCursor: null, unavailable: [] };
    destinations = [config.destinationId];
  } else if (q.destinationId) {
    destinations = [q.destinationId];
  } else {
    destinations = listDestinationRows(deps.db, isAdmin(p) ? undefined : p.id).map((d) => d.id);
  }
  const all: SnapshotJson[] = [];
  const unavailable: { destinationId: string; message: string }[] = [];
  for (const id of destinations) {
    try {
      all.push(...(await destinationSnapshots(deps, p, id, q.configId, signal)));
    } catch (e) {
      // Asked for one destination: its error is the answer. Across all: one unreachable
      // repository must not hide the others' snapshots.
      if (destinations.length === 1 || signal?.aborted) throw e;
      unavailable.push({ destinationId: id, message: (e as Error).message });
    }
  }
  all.sort((a, b) => (a.time === b.time ? cmp(b.id, a.id) : cmp(b.time, a.time)));
  const start = q.cursor ? all.findIndex((s) => cursorOf(s) === q.cursor) + 1 : 0;
  if (q.cursor && start === 0) throw new ValidationError("invalid cursor");
  const limit = q.limit ?? PAGE;
  const items = all.slice(start, start + limit);
  const last = items.at(-1);
  return { items, nextCursor: start + limit < all.length && last ? cursorOf(last) : null, unavailable };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function cursorOf(s: SnapshotJson): string {
  return Buffer.from(`${s.destinationId}:${s.id}`).toString("base64url");
}

/** A snapshot by full id, unique prefix (≥ 8 hex) or "latest". */
export async function findSnapshotIn(opened: OpenedRepository, ref: string, signal?: AbortSignal) {
  if (!SNAPSHOT_REF.test(ref)) throw new NotFoundError("snapshot not found");
  return opened.repo.findSnapshot(ref, signal);
}

/** One page of a directory of a snapshot. */
export function treePage(
  deps: SnapshotsDeps,
  p: Principal,
  destinationId: string,
  ref: string,
  path: string,
  options: { cursor?: string; limit?: number; signal?: AbortSignal },
): Promise<TreePage & { snapshotId: string }> {
  return withRepository(deps, p, destinationId, async (opened) => {
    const { listTreePage } = await import("../engine/browse/index.ts");
    const snapshot = await findSnapshotIn(opened, ref, options.signal);
    const page = await listTreePage(opened.trees, snapshot, path, options);
    return { ...page, snapshotId: snapshot.id };
  });
}

/** Names across a snapshot (substring, or glob when q holds * ? [). */
export function searchIn(
  deps: SnapshotsDeps,
  p: Principal,
  destinationId: string,
  ref: string,
  q: string,
  options: { cursor?: string; signal?: AbortSignal },
): Promise<SearchPage & { snapshotId: string }> {
  return withRepository(deps, p, destinationId, async (opened) => {
    const { searchSnapshot } = await import("../engine/browse/index.ts");
    const snapshot = await findSnapshotIn(opened, ref, options.signal);
    const page = await searchSnapshot(opened.trees, snapshot, q, options);
    return { ...page, snapshotId: snapshot.id };
  });
}

/** The versions of one file across a job's snapshots, newest first (content ids compared). */
export async function versionsOf(
  deps: SnapshotsDeps,
  p: Principal,
  configId: string,
  path: string,
  signal?: AbortSignal,
): Promise<{ destinationId: string; items: VersionItem[] }> {
  const config = ownedOrNotFound(p, findConfigRecord(deps.db, configId), "backup job");
  const items = await withRepository(deps, p, config.destinationId, async ({ repo, trees }) => {
    const { fileVersions } = await import("../engine/browse/index.ts");
    const all = await repo.listSnapshots(signal, () => {});
    const mine = all.filter((s) => configIdOf(s) === config.id);
    return fileVersions(trees, mine, path, { signal });
  });
  return { destinationId: config.destinationId, items };
}

export type Download = ChildDownload;

let sharedSlots: DownloadSlots | null = null;
/** The server's one count of downloads per user. */
export function downloadSlots(): DownloadSlots {
  sharedSlots ??= new DownloadSlots();
  return sharedSlots;
}

/**
 * A file's bytes or a tar of anything else, read, decrypted and packed by a child process
 * (download-child.ts) so a large download never holds up the pages. Ownership, the snapshot
 * reference's shape and the user's download cap (429) are judged here, before a child starts;
 * a missing snapshot or path still rejects (404/400) before any byte is sent.
 */
export async function downloadFrom(
  deps: SnapshotsDeps,
  p: Principal,
  destinationId: string,
  ref: string,
  path: string,
  signal?: AbortSignal,
): Promise<Download> {
  const dest = visibleDestination(deps.db, p, destinationId);
  if (!SNAPSHOT_REF.test(ref)) throw new NotFoundError("snapshot not found");
  const release = (deps.downloads ?? downloadSlots()).take(p.id);
  try {
    const target = (await repositoryTargetSpecLazy())({ db: deps.db, dataDir: deps.dataDir }, dest.id);
    const { startChildDownload } = await import("./download-process.ts");
    const command = deps.childCommand ?? (await import("./run-command.ts")).runChildCommand();
    const keys = await deps.browse.openKeys(dest.id);
    const masterKeys = keys
      ? {
          encrypt: keys.encrypt ? Buffer.from(keys.encrypt).toString("base64") : null,
          mac: Buffer.from(keys.mac).toString("base64"),
        }
      : undefined;
    const spec = {
      kind: "download" as const,
      target,
      snapshotRef: ref,
      path,
      ...(masterKeys ? { masterKeys } : {}),
    };
    return await startChildDownload(command, spec, { signal, onEnd: release, cwd: deps.dataDir });
  } catch (e) {
    release();
    throw e;
  }
}

/** The Content-Disposition header for a download's name (safe for any byte). */
export async function dispositionOf(name: string): Promise<string> {
  const { contentDisposition } = await import("../engine/browse/index.ts");
  return contentDisposition(name);
}
