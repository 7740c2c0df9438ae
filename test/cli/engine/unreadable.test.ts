/**
 * Files the backup cannot read, through a real process: a file and folders without permission are
 * per-file errors, the snapshot is still written and the exit code is 3. Root reads everything,
 * so when the tests run as root the backup process is started as the unprivileged user "nobody"
 * (setpriv, util-linux): the permission checks are then the kernel's own, as for any user.
 * And a backup of nothing but missing paths fails (exit 1) without writing a snapshot.
 */
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bunPath, mainPath } from "../../helpers/cli.ts";
import { tempDir } from "../../helpers/temp.ts";
import { backapp, backupJson, jsonLines, localRepo, PASSWORD } from "./fixtures.ts";

const dir = tempDir("backapp-cli-unreadable-");
afterAll(() => {
  // Give the owner its permissions back so the folder can be removed.
  for (const p of ["src/secret.txt", "src/closed", "src/no-exec"]) chmodSync(join(dir.path, "w", p), 0o700);
  dir.cleanup();
});

const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;

/** `backapp ARGS` as a real process; as root, as the user nobody. */
async function runUnprivileged(args: string[], env: Record<string, string>) {
  const prefix = asRoot ? ["setpriv", `--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups"] : [];
  const proc = Bun.spawn([...prefix, bunPath, mainPath, ...args], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: join(dir.path, "w"), ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr };
}

describe("unreadable files", { timeout: 60_000 }, () => {
  it("a file and folders without permission are errors; the snapshot is written; exit 3", async () => {
    const work = join(dir.path, "w");
    mkdirSync(join(work, "src", "closed"), { recursive: true });
    mkdirSync(join(work, "src", "no-exec"));
    writeFileSync(join(work, "src", "fine.txt"), "fine");
    writeFileSync(join(work, "src", "secret.txt"), "secret");
    writeFileSync(join(work, "src", "closed", "inside.txt"), "inside");
    writeFileSync(join(work, "src", "no-exec", "inside.txt"), "inside");
    chmodSync(join(work, "src", "secret.txt"), 0o000);
    chmodSync(join(work, "src", "closed"), 0o000);
    chmodSync(join(work, "src", "no-exec"), 0o600);
    // The temporary folder is private to its creator; let "nobody" in, and own nothing else.
    chmodSync(dir.path, 0o755);
    chmodSync(work, 0o777);
    const repo = localRepo(work);
    const env = { BACKAPP_REPO: repo.address, BACKAPP_PASSWORD: PASSWORD };
    expect((await runUnprivileged(["init"], env)).code).toBe(0);
    const src = join(work, "src");
    const r = await runUnprivileged(["backup", "--json", src], env);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(3);
    const summary = jsonLines(r.stdout).at(-1) as {
      type: string;
      files_new: number;
      errors: { path: string; message: string }[];
    };
    expect(summary.type).toBe("summary");
    expect(summary.files_new).toBe(1);
    expect(summary.errors.map((e) => e.path).sort()).toEqual(
      [`${src}/closed`, `${src}/no-exec`, `${src}/secret.txt`].sort(),
    );
    for (const e of summary.errors) expect(e.message).toMatch(/EACCES/);
    const plain = await runUnprivileged(["backup", src], env);
    expect(plain.code).toBe(3);
    expect(plain.stderr).toContain(`error: ${src}/secret.txt: `);
    expect(plain.stderr).toContain("warning: 3 files could not be read\n");
    expect(plain.stdout).toMatch(/\n[0-9a-f]{64}\n$/);
  });

  it("a backup of nothing but missing paths fails with exit 1 and writes no snapshot", async () => {
    const repo = localRepo(join(dir.path, "missing"));
    expect((await backapp(repo, ["init"])).code).toBe(0);
    const gone = join(dir.path, "no-such-folder");
    const r = await backupJson(repo, [gone]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`backapp backup: nothing to back up: ${gone} does not exist\n`);
    const two = await backapp(repo, ["backup", gone, `${gone}-2`]);
    expect(two.code).toBe(1);
    expect(two.stderr).toBe(`backapp backup: nothing to back up: none of ${gone}, ${gone}-2 exists\n`);
    expect((await backapp(repo, ["snapshots", "--json"])).stdout).toBe("[]\n");
  });
});
