/** Shared set-up for the restic-parity CLI tests: a temp folder with a repository and a source tree. */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterEach, expect } from "vitest";
import { tempDir } from "../../helpers/temp.ts";
import { backapp, localRepo, type TestRepo } from "../upkeep/fixtures.ts";

export { backapp, type TestRepo } from "../upkeep/fixtures.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
});

export interface Workspace {
  dir: string;
  src: string;
  repo: TestRepo;
}

/** A temp folder with an initialised local repository and an empty `src/` folder. */
export async function workspace(): Promise<Workspace> {
  const d = tempDir();
  cleanups.push(d.cleanup);
  const repo = localRepo(d.path);
  const init = await backapp(repo, ["init"]);
  expect(init.code, init.stderr).toBe(0);
  const src = join(d.path, "src");
  mkdirSync(src);
  return { dir: d.path, src, repo };
}

export function writeFiles(root: string, files: Record<string, string | Uint8Array>): void {
  for (const [rel, data] of Object.entries(files)) {
    const path = join(root, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, data);
  }
}

/** `backapp ARGS` that must exit 0; returns stdout. */
export async function ok(repo: TestRepo, args: string[]): Promise<string> {
  const r = await backapp(repo, args);
  expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

/** The id printed on the last line of `backapp backup`. */
export async function backupId(repo: TestRepo, args: string[]): Promise<string> {
  const out = await ok(repo, ["backup", ...args]);
  return out.trim().split("\n").at(-1)!;
}
