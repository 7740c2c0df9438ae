import { existsSync, mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { backapp, ok, REPO_KINDS, workspaces, writeFiles } from "./fixtures.ts";

const workspaceOn = workspaces();

describe.each(REPO_KINDS)("restore flags restic users type (%s)", (kind) => {
  it("--overwrite if-changed compares content; never, if-newer and always do what they say", async () => {
    const w = await workspaceOn(kind);
    writeFiles(w.src, { "a.txt": "original" });
    await ok(w.repo, ["backup", w.src]);
    const out = join(w.dir, "out");
    await ok(w.repo, ["restore", "latest", "--target", out]);
    const file = join(out, w.src, "a.txt");
    // Same size and mtime, other content: only a content comparison sees it.
    const { mtime } = await import("node:fs").then((fs) => fs.statSync(file));
    const tamper = () => {
      writeFileSync(file, "ORIGINAL");
      utimesSync(file, mtime, mtime);
    };
    tamper();
    const never = await backapp(w.repo, ["restore", "latest", "--target", out, "--overwrite", "never"]);
    expect(never.stderr).toContain("is not empty: files the snapshot holds are kept as they are");
    expect(readFileSync(file, "utf8")).toBe("ORIGINAL");
    await ok(w.repo, ["restore", "latest", "--target", out]);
    expect(readFileSync(file, "utf8")).toBe("original");
    // A file newer than the snapshot's is kept by if-newer, rewritten by always.
    writeFileSync(file, "local edit");
    const future = new Date(Date.now() + 3_600_000);
    utimesSync(file, future, future);
    await ok(w.repo, ["restore", "latest", "--target", out, "--overwrite", "if-newer"]);
    expect(readFileSync(file, "utf8")).toBe("local edit");
    await ok(w.repo, ["restore", "latest", "--target", out, "--overwrite", "always"]);
    expect(readFileSync(file, "utf8")).toBe("original");
    const bad = await backapp(w.repo, ["restore", "latest", "--target", out, "--overwrite", "sometimes"]);
    expect(bad.code).toBe(2);
  });

  it("--exclude, --dry-run and --json", async () => {
    const w = await workspaceOn(kind);
    writeFiles(w.src, { "keep.txt": "k", "skip.log": "s", "sub/deep.log": "d" });
    await ok(w.repo, ["backup", w.src]);
    const out = join(w.dir, "out");
    const dry = await ok(w.repo, ["restore", "latest", "--target", out, "--exclude", "*.log", "--dry-run"]);
    expect(dry).toContain("dry run: would write 1 new file (1 B)");
    expect(existsSync(out)).toBe(false);
    const lines = (await ok(w.repo, ["restore", "latest", "--target", out, "--exclude", "*.log", "--json"]))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ type: "start", operation: "restore" });
    expect(lines.at(-1)).toMatchObject({ type: "summary", files_restored: 1, errors: [] });
    expect(existsSync(join(out, w.src, "keep.txt"))).toBe(true);
    expect(existsSync(join(out, w.src, "skip.log"))).toBe(false);
    expect(existsSync(join(out, w.src, "sub", "deep.log"))).toBe(false);
  });

  it("--delete makes the target match the snapshot and never deletes outside it", async () => {
    const w = await workspaceOn(kind);
    writeFiles(w.src, { "a.txt": "a", "sub/b.txt": "b" });
    await ok(w.repo, ["backup", w.src]);
    const out = join(w.dir, "out");
    const outside = join(w.dir, "outside");
    writeFiles(outside, { "precious.txt": "mine" });
    writeFiles(join(out, w.src), { "extra.txt": "x", "sub/extra-dir/y.txt": "y" });
    symlinkSync(outside, join(out, w.src, "sub", "link-out"));
    mkdirSync(join(out, "elsewhere"));
    const dry = await ok(w.repo, ["restore", "latest", "--target", out, "--delete", "--dry-run"]);
    expect(dry).toContain(`would remove ${join(out, w.src, "extra.txt")}`);
    expect(existsSync(join(out, w.src, "extra.txt"))).toBe(true);
    const r = await ok(w.repo, ["restore", "latest", "--target", out, "--delete"]);
    expect(r).toContain("removed 4");
    expect(existsSync(join(out, w.src, "extra.txt"))).toBe(false);
    expect(existsSync(join(out, w.src, "sub", "extra-dir"))).toBe(false);
    expect(existsSync(join(out, w.src, "sub", "link-out"))).toBe(false);
    expect(readFileSync(join(outside, "precious.txt"), "utf8")).toBe("mine");
    expect(readFileSync(join(out, w.src, "sub", "b.txt"), "utf8")).toBe("b");
    // The target's root is the snapshot's root: what the snapshot does not hold there goes too.
    expect(existsSync(join(out, "elsewhere"))).toBe(false);
  });
});
