/** Shared set-up for the restic-parity CLI tests: a temp folder with a repository and a source tree. */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, afterEach, beforeAll, expect } from "vitest";
import { bunPath, type CliResult, mainPath } from "../../helpers/cli.ts";
import { startS3rver, type TestS3 } from "../../helpers/s3rver.ts";
import { tempDir } from "../../helpers/temp.ts";
import { backapp, localRepo, s3Repo, type TestRepo } from "../upkeep/fixtures.ts";

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

/**
 * A temp folder with an initialised repository (a local folder, or on `s3` a prefix of its bucket)
 * and an empty `src/` folder.
 */
export async function workspace(s3?: TestS3): Promise<Workspace> {
  const d = tempDir();
  cleanups.push(d.cleanup);
  const repo = s3 ? s3Repo(s3) : localRepo(d.path);
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

/** Where a parametrised suite keeps its repositories: "local" folders or "s3rver". */
export type RepoKind = "local" | "s3rver";
export const REPO_KINDS: RepoKind[] = ["local", "s3rver"];

/**
 * A `workspace()` for the given kind; for "s3rver" one real S3 server is started for the file
 * (beforeAll) and stopped afterwards.
 */
export function workspaces(): (kind: RepoKind) => Promise<Workspace> {
  let s3: TestS3 | undefined;
  beforeAll(async () => {
    s3 = await startS3rver();
  });
  afterAll(async () => {
    await s3?.stop();
  });
  return (kind) => workspace(kind === "s3rver" ? s3 : undefined);
}

/**
 * Runs a /bin/sh script with `$0` = bun and `$1` = src/main.ts (so `"$0" "$1" dump …` is backapp
 * from source), the repository's variables and `vars`, as an asynchronous child: the test's own
 * event loop keeps serving the in-process s3rver while the script talks to it (a synchronous
 * child_process call would block it, and the script with it). Resolves with the exit code and
 * output; `onSpawn` sees the shell's pid (to sample its children). `exec` replaces the
 * positional parameters: `[binary]` makes `"$0"` the compiled binary.
 */
export async function sh(
  script: string,
  repo: TestRepo,
  vars: Record<string, string> = {},
  onSpawn?: (pid: number) => void,
  exec: string[] = [bunPath, mainPath],
): Promise<CliResult> {
  const proc = Bun.spawn(["/bin/sh", "-c", script, ...exec], {
    env: { ...process.env, ...repo.env, ...vars },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  onSpawn?.(proc.pid);
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr };
}
