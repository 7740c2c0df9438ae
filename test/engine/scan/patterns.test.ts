import { describe, expect, it } from "vitest";
import { createPathFilter } from "../../../src/engine/scan/patterns.ts";
import { ValidationError } from "../../../src/util/errors.ts";

const ROOT = "/home/me";

// [pattern, relative path, is directory, matches]
const TABLE: Array<[string, string, boolean, boolean]> = [
  ["*.o", "a.o", false, true],
  ["*.o", "src/deep/a.o", false, true],
  ["*.o", "a.c", false, false],
  ["node_modules", "node_modules", true, true],
  ["node_modules", "web/app/node_modules", true, true],
  ["node_modules", "web/node_modules_x", true, false],
  [".cache", "x/.cache", true, true],
  ["*", ".hidden", false, true],
  ["build/", "build", true, true],
  ["build/", "build", false, false],
  ["build/", "sub/build", true, true],
  ["build/out", "build/out", true, true],
  ["build/out", "sub/build/out", true, false],
  ["/build", "build", true, true],
  ["/build", "sub/build", true, false],
  ["/home/me/.cache", ".cache", true, true],
  ["/home/me/.cache", "other/.cache", true, false],
  ["src/*.tmp", "src/a.tmp", false, true],
  ["src/*.tmp", "src/x/a.tmp", false, false],
  ["src/**/*.tmp", "src/x/y/a.tmp", false, true],
  ["**/logs", "a/b/logs", true, true],
  ["**/logs", "logs", true, true],
  ["file?.txt", "file1.txt", false, true],
  ["file?.txt", "file10.txt", false, false],
  ["[ab].txt", "b.txt", false, true],
  ["CASE.txt", "case.txt", false, false],
  ["!keep", "!keep", false, true],
  ["#hash", "#hash", false, true],
  ["name with space", "dir/name with space", false, true],
];

describe("exclude patterns", () => {
  for (const [pattern, rel, isDir, expected] of TABLE) {
    it(`${pattern} ${expected ? "matches" : "does not match"} ${rel}${isDir ? "/" : ""}`, () => {
      const f = createPathFilter({ excludes: [pattern] });
      expect(f.excluded(rel, `${ROOT}/${rel}`, isDir)).toBe(expected);
      expect(f.hasIncludes).toBe(false);
    });
  }

  it("uses the same rules for includes", () => {
    const f = createPathFilter({ includes: ["*.md", "docs/"] });
    expect(f.hasIncludes).toBe(true);
    expect(f.included("a/readme.md", "/r/a/readme.md", false)).toBe(true);
    expect(f.included("docs", "/r/docs", true)).toBe(true);
    expect(f.included("docs", "/r/docs", false)).toBe(false);
    expect(f.excluded("a/readme.md", "/r/a/readme.md", false)).toBe(false);
  });

  it("rejects empty patterns", () => {
    expect(() => createPathFilter({ excludes: [""] })).toThrow(ValidationError);
    expect(() => createPathFilter({ includes: ["/"] })).toThrow(ValidationError);
  });
});
