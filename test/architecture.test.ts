/** Keeps the architecture visible: import directions and who may read the environment. */
import { readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { Glob } from "bun";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..");
const files = [...new Glob("src/**/*.ts").scanSync({ cwd: root })].filter(
  (f) => !f.startsWith("src/generated/"),
);

function imports(file: string): string[] {
  const text = readFileSync(join(root, file), "utf8");
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^;]*?from\s+["']([^"']+)["']/g)].map(
    (m) => m[1] as string,
  );
}

function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
}

function resolveInternal(file: string, spec: string): string | null {
  if (!spec.startsWith(".")) return null;
  return relative(root, join(root, file, "..", spec));
}

function violations(area: string, forbidden: (spec: string, target: string | null) => boolean): string[] {
  return files
    .filter((f) => f.startsWith(`src/${area}/`))
    .flatMap((f) =>
      imports(f)
        .filter((s) => forbidden(s, resolveInternal(f, s)))
        .map((s) => `${f} imports ${s}`),
    );
}

describe("architecture", () => {
  it("finds the source files", () => {
    expect(files.length).toBeGreaterThan(10);
  });

  it("the engine imports no HTTP, database or web code", () => {
    const bad = violations(
      "engine",
      (spec, target) =>
        /^(hono|drizzle-orm|bun:sqlite|@hono\/)/.test(spec) ||
        /^src\/(web|db|auth|jobs|scheduler|cli)\//.test(target ?? ""),
    );
    expect(bad).toEqual([]);
  });

  it("storage never imports the engine or anything above it", () => {
    const bad = violations("storage", (_spec, target) =>
      /^src\/(engine|web|db|auth|jobs|cli)\//.test(target ?? ""),
    );
    expect(bad).toEqual([]);
  });

  it("web reaches the engine only through jobs", () => {
    const bad = violations("web", (_spec, target) => /^src\/(engine|storage)\//.test(target ?? ""));
    expect(bad).toEqual([]);
  });

  it("util imports nothing internal", () => {
    const bad = violations(
      "util",
      (spec, target) => target !== null && !target.startsWith("src/util/") && !spec.endsWith("package.json"),
    );
    expect(bad).toEqual([]);
  });

  it("only src/config reads the environment", () => {
    const readers = files.filter(
      (f) =>
        !f.startsWith("src/config/") &&
        /process\.env\b|Bun\.env\b/.test(withoutComments(readFileSync(join(root, f), "utf8"))),
    );
    expect(readers).toEqual([]);
  });
});
