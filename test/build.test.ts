/** build.ts pieces that decide what the binary is: its version's commit and its compile flags. */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compileArgs, gitCommit } from "../build.ts";
import { tempDir } from "./helpers/temp.ts";

const root = join(import.meta.dirname, "..");

describe("build.ts", () => {
  it("bakes in the checkout's commit, and 'unknown' outside a git checkout (a source tarball)", () => {
    expect(gitCommit(root)).toMatch(/^[0-9a-f]{10}(-dirty)?$/);
    const plain = tempDir();
    try {
      expect(gitCommit(plain.path)).toBe("unknown");
    } finally {
      plain.cleanup();
    }
  });

  it("does not report the commit of a repository the tree merely sits inside", () => {
    expect(gitCommit(join(root, "src"))).toBe("unknown");
  });

  it("compiles main.ts with the workers as extra entrypoints, bytecode, code splitting, and no .env/bunfig.toml autoloading", () => {
    const args = compileArgs("linux-x64", "abc", ["src/engine/repository/seal-worker.ts"], "/out/b");
    expect(args.slice(0, 3)).toEqual(["build", "--compile", "--target=bun-linux-x64"]);
    expect(args).toContain("--no-compile-autoload-dotenv");
    expect(args).toContain("--no-compile-autoload-bunfig");
    expect(args).toEqual(expect.arrayContaining(["--bytecode", "--format=esm", "--splitting"]));
    expect(args).toContain('--define=BACKAPP_BUILD_COMMIT="abc"');
    const main = args.indexOf("src/main.ts");
    expect(args[main + 1]).toBe("src/engine/repository/seal-worker.ts");
    expect(args.slice(-2)).toEqual(["--outfile", "/out/b"]);
  });
});
