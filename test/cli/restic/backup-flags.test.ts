import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { backapp, ok, REPO_KINDS, workspaces, writeFiles } from "./fixtures.ts";

async function listed(repo: Parameters<typeof ok>[0], root: string): Promise<string[]> {
  const json = JSON.parse(await ok(repo, ["ls", "latest", root, "--json"])) as { path: string }[];
  return json.map((e) => e.path.slice(root.length) || "/");
}

const workspaceOn = workspaces();

describe.each(REPO_KINDS)("backup flags restic users type (%s)", (kind) => {
  it("--exclude-file, --files-from, --exclude-if-present and --exclude-caches", async () => {
    const w = await workspaceOn(kind);
    writeFiles(w.src, {
      "keep.txt": "k",
      "skip.log": "s",
      "cache/CACHEDIR.TAG": "Signature: 8a477f597d28d172789f06886806bc55\n",
      "cache/blob": "c",
      "fake-cache/CACHEDIR.TAG": "not the signature",
      "fake-cache/blob": "f",
      "marked/.nobackup": "",
      "marked/data": "m",
      "other/x.txt": "x",
    });
    writeFileSync(join(w.dir, "excludes"), "# logs\n*.log\n\n");
    writeFileSync(join(w.dir, "paths"), `# what\n${w.src}\n`);
    await ok(w.repo, [
      "backup",
      "--files-from",
      join(w.dir, "paths"),
      "--exclude-file",
      join(w.dir, "excludes"),
      "--exclude-caches",
      "--exclude-if-present",
      ".nobackup",
    ]);
    expect(await listed(w.repo, w.src)).toEqual([
      "/",
      "/fake-cache",
      "/fake-cache/CACHEDIR.TAG",
      "/fake-cache/blob",
      "/keep.txt",
      "/other",
      "/other/x.txt",
    ]);
    const bad = await backapp(w.repo, ["backup", "--exclude-file", join(w.dir, "nope"), w.src]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("--exclude-file file");
    expect(bad.stderr).toContain("does not exist");
  });

  it("--one-file-system keeps a mount point as an empty folder", async () => {
    const w = await workspaceOn(kind);
    const mine = join("/dev/shm", `backapp-${process.pid}-${Date.now()}`);
    mkdirSync(mine);
    try {
      writeFileSync(join(mine, "in-tmpfs"), "t");
      await ok(w.repo, ["backup", "--one-file-system", "/dev"]);
      const one = JSON.parse(await ok(w.repo, ["ls", "latest", "/dev/shm", "--json"])) as { path: string }[];
      expect(one.map((e) => e.path)).toEqual(["/dev/shm"]);
      await ok(w.repo, ["backup", "/dev"]);
      const all = JSON.parse(await ok(w.repo, ["ls", "latest", "/dev/shm", "--json"])) as { path: string }[];
      expect(all.map((e) => e.path)).toContain(`${mine}/in-tmpfs`);
    } finally {
      rmSync(mine, { recursive: true, force: true });
    }
  });

  it("--dry-run shows what would be saved, with sizes, and writes nothing", async () => {
    const w = await workspaceOn(kind);
    writeFiles(w.src, { "a.txt": "12345", "b.log": "123" });
    const r = await backapp(w.repo, ["backup", "--dry-run", "-v", "--exclude", "*.log", w.src], {
      env: { BACKAPP_PASSWORD: undefined },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`would save ${w.src}/a.txt (5 B)`);
    expect(r.stdout).not.toContain("b.log");
    expect(r.stdout).toContain("dry run: would save 1 file (5 B before dedup) in ");
    const json = await ok(w.repo, ["backup", "--dry-run", "--json", w.src]);
    expect(JSON.parse(json.trim())).toMatchObject({ type: "dry_run", files: 2, bytes: 8, errors: 0 });
    expect(JSON.parse(await ok(w.repo, ["snapshots", "--json"]))).toEqual([]);
  });

  it("a missing path beside existing ones is named as missing; an --include matching nothing exits 3", async () => {
    const w = await workspaceOn(kind);
    writeFiles(w.src, { "a.txt": "a" });
    const gone = join(w.dir, "gone");
    const r = await backapp(w.repo, ["backup", w.src, gone]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`warning: 1 given path does not exist: ${gone}`);
    expect(r.stderr).not.toContain("could not be read");
    const inc = await backapp(w.repo, ["backup", "--include", "*.pdf", w.src]);
    expect(inc.code).toBe(3);
    expect(inc.stderr).toContain("warning: no file matched --include *.pdf");
  });
});
