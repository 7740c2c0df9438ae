/** Which snapshot paths a restore with includes touches. */
import { ValidationError } from "../../util/errors.ts";
import { nameMatches } from "../scan/names.ts";
import { createPathFilter } from "../scan/patterns.ts";

export type Selection = "all" | "ancestor" | "none";

/** Splits "/home/me/x" (or "home/me/x/") into components. ValidationError for "." or "..". */
export function splitSnapshotPath(path: string): string[] {
  const parts = path.split("/").filter((p) => p !== "");
  if (parts.some((p) => p === "." || p === "..")) {
    throw new ValidationError(`snapshot path ${JSON.stringify(path)} must not contain "." or ".."`);
  }
  return parts;
}

export type Selector = (path: string[], isDir?: boolean) => Selection;

/**
 * A selector over component lists: "all" when the path is an include or inside one, "ancestor"
 * when it leads to one, "none" otherwise (or when an exclude pattern, as in docs/patterns.md
 * against the absolute snapshot path, matches it). Without includes everything is "all".
 */
export function createSelector(includes: string[] | undefined, excludes?: string[]): Selector {
  const byIncludes = includeSelector(includes);
  if (!excludes || excludes.length === 0) return byIncludes;
  const filter = createPathFilter({ excludes });
  return (path, isDir = false) => {
    const rel = path.join("/");
    if (rel !== "" && filter.excluded(rel, `/${rel}`, isDir)) return "none";
    return byIncludes(path, isDir);
  };
}

function includeSelector(includes: string[] | undefined): Selector {
  const wanted = (includes ?? []).map(splitSnapshotPath);
  if (wanted.length === 0 || wanted.some((w) => w.length === 0)) return () => "all";
  return (path) => {
    let result: Selection = "none";
    for (const w of wanted) {
      const n = Math.min(w.length, path.length);
      let same = true;
      for (let i = 0; i < n && same; i++) same = nameMatches(w[i]!, path[i]!);
      if (!same) continue;
      if (path.length >= w.length) return "all";
      result = "ancestor";
    }
    return result;
  };
}

/** True when `path` is the path `query` names, component by component (see nameMatches). */
export function pathMatches(query: string[], path: string[]): boolean {
  return query.length === path.length && query.every((q, i) => nameMatches(q, path[i]!));
}
