/**
 * Include/exclude patterns with gitignore-like semantics (see docs/patterns.md):
 * - a pattern without "/" matches the entry's name at any depth ("*.o", "node_modules");
 * - a pattern with "/" is anchored: it matches the path relative to the backup root given on the
 *   command line ("build/out", "**\/cache/*"); a leading "/" is allowed ("/build"), and then the
 *   pattern is also tried against the absolute path ("/home/me/.cache");
 * - a trailing "/" restricts the pattern to directories ("tmp/");
 * - "*" and "?" do not cross "/", "**" does; dotfiles are matched like any name; case-sensitive;
 *   no "!" negation and no "#" comments.
 */
import { Minimatch } from "minimatch";
import { ValidationError } from "../../util/errors.ts";

const OPTIONS = { dot: true, nonegate: true, nocomment: true, noext: false } as const;

interface Rule {
  dirOnly: boolean;
  anchored: boolean;
  absolute: boolean;
  matcher: Minimatch;
}

function compile(pattern: string): Rule {
  if (typeof pattern !== "string" || pattern.replace(/\/+$/, "") === "") {
    throw new ValidationError(`empty pattern ${JSON.stringify(pattern)}`);
  }
  const dirOnly = pattern.endsWith("/");
  const body = pattern.replace(/\/+$/, "");
  const anchored = body.includes("/");
  const absolute = body.startsWith("/");
  return { dirOnly, anchored, absolute, matcher: new Minimatch(body, OPTIONS) };
}

function ruleMatches(rule: Rule, rel: string, abs: string, isDir: boolean): boolean {
  if (rule.dirOnly && !isDir) return false;
  if (!rule.anchored) {
    const slash = rel.lastIndexOf("/");
    return rule.matcher.match(slash >= 0 ? rel.slice(slash + 1) : rel);
  }
  if (rule.absolute) return rule.matcher.match(abs) || rule.matcher.match(`/${rel}`);
  return rule.matcher.match(rel);
}

export interface PathFilter {
  /** True when includes were given (then only matching entries and their ancestors are kept). */
  readonly hasIncludes: boolean;
  /**
   * True when an exclude pattern matches the entry. `rel` is its path relative to the backup
   * root ("a/b.txt", never empty), `abs` its absolute path.
   */
  excluded(rel: string, abs: string, isDir: boolean): boolean;
  /** True when an include pattern matches the entry itself (ancestors are the caller's business). */
  included(rel: string, abs: string, isDir: boolean): boolean;
}

/** Compiles the patterns once. ValidationError for an empty pattern. */
export function createPathFilter(options: { excludes?: string[]; includes?: string[] } = {}): PathFilter {
  const excludes = (options.excludes ?? []).map(compile);
  const includes = (options.includes ?? []).map(compile);
  return {
    hasIncludes: includes.length > 0,
    excluded: (rel, abs, isDir) => excludes.some((r) => ruleMatches(r, rel, abs, isDir)),
    included: (rel, abs, isDir) => includes.some((r) => ruleMatches(r, rel, abs, isDir)),
  };
}
