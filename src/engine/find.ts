/**
 * `find`: where and when a file existed. Walks the trees of the given snapshots and yields every
 * entry whose name (or, for a pattern with a "/", whose full path) matches a glob.
 */
import { Minimatch } from "minimatch";
import { ls } from "./ls.ts";
import type { Repository, Snapshot, TreeNode } from "./types.ts";

export interface FindHit {
  snapshot: Snapshot;
  path: string;
  node: TreeNode;
}

export interface FindOptions {
  /** Case-insensitive matching (restic's --ignore-case). */
  ignoreCase?: boolean;
  signal?: AbortSignal;
}

/** A matcher for the patterns: any of them matches. */
export function findMatcher(patterns: string[], ignoreCase = false): (path: string, name: string) => boolean {
  const rules = patterns.map((p) => ({
    onPath: p.includes("/"),
    m: new Minimatch(p, { dot: true, nocase: ignoreCase, nonegate: true, nocomment: true }),
  }));
  return (path, name) => rules.some((r) => r.m.match(r.onPath ? path : name));
}

export async function* findInSnapshots(
  repo: Repository,
  snapshots: readonly Snapshot[],
  patterns: string[],
  options: FindOptions = {},
): AsyncGenerator<FindHit> {
  const matches = findMatcher(patterns, options.ignoreCase);
  for (const snapshot of snapshots) {
    for await (const { path, node } of ls(repo, snapshot, "/", { signal: options.signal })) {
      if (matches(path, node.name)) yield { snapshot, path, node };
    }
  }
}
