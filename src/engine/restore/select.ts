/** Which snapshot paths a restore with includes touches. */
import { ValidationError } from "../../util/errors.ts";
import { nameMatches } from "../scan/names.ts";

export type Selection = "all" | "ancestor" | "none";

/** Splits "/home/me/x" (or "home/me/x/") into components. ValidationError for "." or "..". */
export function splitSnapshotPath(path: string): string[] {
  const parts = path.split("/").filter((p) => p !== "");
  if (parts.some((p) => p === "." || p === "..")) {
    throw new ValidationError(`snapshot path ${JSON.stringify(path)} must not contain "." or ".."`);
  }
  return parts;
}

/**
 * A selector over component lists: "all" when the path is an include or inside one, "ancestor"
 * when it leads to one, "none" otherwise. Without includes everything is "all".
 */
export function createSelector(includes: string[] | undefined): (path: string[]) => Selection {
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
