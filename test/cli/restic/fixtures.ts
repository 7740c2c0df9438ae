/** Shared set-up for the restic-parity CLI tests: a temp folder with a repository and a source tree. */
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, afterEach, beforeAll, expect } from "vitest";
import { bunPath, type CliResult, mainPath } from "../../helpers/cli.ts";
import { startS3rver, type TestS3 } from "../../helpers/s3rver.ts";
import { tempDir } from "../../helpers/temp.ts";
import { backapp, localRepo, randomBytesSeeded, s3Repo, type TestRepo } from "../upkeep/fixtures.ts";

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

/** A tree with the setuid, setgid and sticky bits (`ls -l` shows them as s, S and t). */
export function writeSpecialModes(src: string): void {
  writeFiles(src, { "suid.bin": "x", "sgid-noexec.txt": "y" });
  mkdirSync(join(src, "tmp"));
  chmodSync(join(src, "tmp"), 0o1777);
  chmodSync(join(src, "suid.bin"), 0o4755);
  chmodSync(join(src, "sgid-noexec.txt"), 0o2640);
}

/** Asserts that `ls latest SRC` of writeSpecialModes' tree shows modes as `ls -l` does and marks times as UTC. */
export function expectLsLongModes(out: string): void {
  const line = (name: string) => out.split("\n").find((l) => l.endsWith(`/${name}`)) ?? "";
  expect(line("tmp")).toMatch(/^drwxrwxrwt /);
  expect(line("suid.bin")).toMatch(/^-rwsr-xr-x /);
  expect(line("sgid-noexec.txt")).toMatch(/^-rw-r-S--- /);
  expect(line("suid.bin")).toMatch(/ \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC {2}\//);
}

/** The `.tmp-*` files below `root` (none if it does not exist). */
export function tempObjects(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, encoding: "utf8" }).filter((p) =>
    p.split("/").at(-1)!.startsWith(".tmp-"),
  );
}

/**
 * Runs `...command backup` of a 24 MiB file into a local repository, interrupts it with SIGINT
 * once a temporary pack file exists, and asserts that it says "cancelled", exits 1 and leaves no
 * `.tmp-*` in the repository. `command` is bun and src/main.ts, or the compiled binary.
 */
export async function expectCancelledBackupCleansUp(w: Workspace, command: string[]): Promise<void> {
  writeFiles(w.src, { "big.bin": randomBytesSeeded(24 * 1024 * 1024, 7) });
  // A slow upload keeps the first pack's temporary file open long enough to interrupt it.
  const proc = Bun.spawn([...command, "backup", "--limit-upload", "512", w.src], {
    env: { ...process.env, ...w.repo.env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const data = join(w.repo.address, "data");
  const deadline = Date.now() + 60_000;
  while (tempObjects(data).length === 0 && proc.exitCode === null && Date.now() < deadline) {
    await Bun.sleep(50);
  }
  expect(tempObjects(data).length).toBeGreaterThan(0);
  proc.kill("SIGINT");
  const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  expect(stderr).toContain("cancelled");
  expect(code).toBe(1);
  expect(tempObjects(w.repo.address)).toEqual([]);
}
