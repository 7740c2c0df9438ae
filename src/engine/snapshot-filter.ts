/**
 * Which snapshots a command acts on: restic's rules for `--host`, `--tag`, `--path` and
 * `--latest`, shared by snapshots, ls, find, forget (retention) and copy.
 *
 * Tags: a snapshot's tags never contain a comma. `backup --tag a,b` stores two tags, and a tag
 * "a,b" stored by backapp before 0.x (when it kept the comma) is read as the two tags a and b
 * everywhere (filters, keep-tag, group-by, listings), which is what its author meant.
 * In a filter, one value "a,b" selects snapshots holding both a and b; repeating the flag selects
 * snapshots matching either value; "" selects untagged snapshots.
 */

/** Tags as backapp reads them: stored tags split at commas, trimmed, empty and repeated ones dropped. */
export function snapshotTags(stored: readonly string[]): string[] {
  const out: string[] = [];
  for (const t of stored) {
    for (const part of t.split(",")) {
      const tag = part.trim();
      if (tag !== "" && !out.includes(tag)) out.push(tag);
    }
  }
  return out;
}

/** One filter value "a,b" → ["a", "b"] ("" → [] = untagged). */
export function parseTagList(value: string): string[] {
  return snapshotTags([value]);
}

/** True when the snapshot's tags hold every tag of `wanted` (an empty list matches untagged ones). */
export function hasAllTags(stored: readonly string[], wanted: readonly string[]): boolean {
  const tags = snapshotTags(stored);
  return wanted.length === 0 ? tags.length === 0 : wanted.every((t) => tags.includes(t));
}

/** True when the snapshot matches at least one of the tag-list values (none given: all match). */
export function matchesTagLists(stored: readonly string[], lists: readonly string[] | undefined): boolean {
  if (!lists || lists.length === 0) return true;
  return lists.some((l) => hasAllTags(stored, parseTagList(l)));
}

export interface SnapshotSelection {
  /** Any of these hosts (repeatable flag). */
  hosts?: string[];
  /** Any of these tag lists ("a,b" = both). */
  tags?: string[];
  /** Snapshots whose paths include every one of these (restic's --path). */
  paths?: string[];
  /** Only the newest N of each (host, paths) group. */
  latest?: number;
}

interface Selectable {
  id: string;
  time: string;
  hostname: string;
  paths: string[];
  tags: string[];
}

/** True when the snapshot passes the host, tag and path filters (not `latest`). */
export function matchesSelection(s: Selectable, sel: SnapshotSelection): boolean {
  if (sel.hosts && sel.hosts.length > 0 && !sel.hosts.includes(s.hostname)) return false;
  if (!matchesTagLists(s.tags, sel.tags)) return false;
  if (sel.paths && sel.paths.length > 0 && !sel.paths.every((p) => s.paths.includes(p))) return false;
  return true;
}

/**
 * The snapshots passing the filters, in the input order (oldest first is what listings use); with
 * `latest`, only the newest N of each group of the same host and paths.
 */
export function selectSnapshots<T extends Selectable>(all: readonly T[], sel: SnapshotSelection): T[] {
  const hits = all.filter((s) => matchesSelection(s, sel));
  if (sel.latest === undefined) return hits;
  const byGroup = new Map<string, T[]>();
  for (const s of hits) {
    const key = `${s.hostname}\0${[...s.paths].sort().join("\0")}`;
    byGroup.set(key, [...(byGroup.get(key) ?? []), s]);
  }
  const keep = new Set<T>();
  for (const group of byGroup.values()) {
    const newest = [...group].sort((a, b) => b.time.localeCompare(a.time) || b.id.localeCompare(a.id));
    for (const s of newest.slice(0, sel.latest)) keep.add(s);
  }
  return hits.filter((s) => keep.has(s));
}
