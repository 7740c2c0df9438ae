/**
 * The compiled binary for this machine, built the way build.ts builds it, once: later calls (and
 * later test runs) reuse it while no source, view, asset or migration is newer and the commit is
 * the same. Built into .tmp/test-binary/<commit>/ so the tests never touch dist/.
 */
import { existsSync, mkdirSync, renameSync, statSync } from "node:fs";
import { join } from "node:path";
import { Glob } from "bun";
import { compileArgs, gitCommit } from "../../build.ts";

const root = join(import.meta.dirname, "..", "..");

export function hostTarget(): string {
  const os = process.platform === "darwin" ? "darwin" : "linux";
  return `${os}-${process.arch === "arm64" ? "arm64" : "x64"}`;
}

function newestInput(): number {
  let newest = 0;
  for (const pattern of [
    "src/**/*",
    "views/**/*",
    "static/**/*",
    "migrations/**/*",
    "package.json",
    "build.ts",
  ]) {
    for (const f of new Glob(pattern).scanSync({ cwd: root }))
      newest = Math.max(newest, statSync(join(root, f)).mtimeMs);
  }
  return newest;
}

const built = new Map<string, string>();

/** Path of `backapp-<target>` (default: this machine's) built from this checkout. */
export function compiledBinary(target = hostTarget()): string {
  const done = built.get(target);
  if (done) return done;
  const commit = gitCommit(root);
  // The commit is baked in: a binary built at another commit is not this one.
  const dir = join(root, ".tmp", "test-binary", commit);
  const file = join(dir, `backapp-${target}`);
  if (existsSync(file) && statSync(file).mtimeMs > newestInput()) {
    built.set(target, file);
    return file;
  }
  mkdirSync(dir, { recursive: true });
  // Another test file may be building at the same time: each builds its own file, then renames.
  const partial = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  const workers = [...new Glob("src/**/*-worker.ts").scanSync({ cwd: root })].sort();
  const args = compileArgs(target, commit, workers, partial);
  const r = Bun.spawnSync([join(root, "node_modules", ".bin", "bun"), ...args], {
    cwd: root,
    stdout: "pipe",
    stderr: "pipe",
  });
  if (r.exitCode !== 0) throw new Error(`building the binary failed: ${r.stderr.toString()}`);
  renameSync(partial, file);
  built.set(target, file);
  return file;
}
