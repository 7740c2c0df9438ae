/**
 * Changing the tags of existing snapshots (restic's `tag`): a snapshot object is immutable (its
 * id is the hash of its bytes), so each changed snapshot is written anew with the new tags, then
 * the old object is deleted. Written first, deleted second: a crash in between leaves both (the
 * same backup listed twice), never neither. Snapshots whose tags do not change are left alone.
 */
import type { RepositoryImpl } from "./repository/index.ts";
import { snapshotTags } from "./snapshot-filter.ts";
import type { Snapshot } from "./types.ts";

export interface TagChange {
  add?: string[];
  remove?: string[];
  /** Replaces every tag (applied before add/remove); [] clears them. */
  set?: string[];
}

export interface Retagged {
  old: Snapshot;
  /** The rewritten snapshot, or null when its tags were already as asked. */
  now: Snapshot | null;
}

/** The tags after the change, in a stable order (existing order, then added ones). */
export function changedTags(current: readonly string[], change: TagChange): string[] {
  let tags = change.set ? snapshotTags(change.set) : snapshotTags(current);
  const drop = new Set(snapshotTags(change.remove ?? []));
  tags = tags.filter((t) => !drop.has(t));
  for (const t of snapshotTags(change.add ?? [])) if (!tags.includes(t)) tags.push(t);
  return tags;
}

export async function retagSnapshots(
  repo: RepositoryImpl,
  snapshots: readonly Snapshot[],
  change: TagChange,
  signal?: AbortSignal,
): Promise<Retagged[]> {
  const out: Retagged[] = [];
  for (const old of snapshots) {
    const tags = changedTags(old.tags, change);
    // Stored exactly as asked: nothing to do (a legacy "a,b" tag is rewritten as two tags).
    if (tags.join("\0") === old.tags.join("\0")) {
      out.push({ old, now: null });
      continue;
    }
    const { id: _id, ...input } = old;
    const now = await repo.saveSnapshot({ ...input, tags }, signal);
    if (now.id !== old.id) await repo.backend.delete(`snapshots/${old.id}`, { signal });
    out.push({ old, now });
  }
  return out;
}
