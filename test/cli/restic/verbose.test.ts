/** `-v` on backup, restore, check, forget and copy: extra lines only, every other output unchanged. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { backapp, backupId, ok, REPO_KINDS, workspace, workspaces, writeFiles } from "./fixtures.ts";

const workspaceOn = workspaces();

const lines = (text: string) => text.split("\n").filter((l) => l !== "");
const jsonLines = (text: string) => lines(text).map((l) => JSON.parse(l) as Record<string, unknown>);

describe.each(REPO_KINDS)("-v (%s)", (kind) => {
  it("backup lists new and modified files (text and --json), never unchanged ones", async () => {
    const w = await workspaceOn(kind);
    writeFiles(w.src, { "a.txt": "aaa", "sub/b bé.txt": "bb", "same.txt": "s" });
    const first = lines(await ok(w.repo, ["backup", "-v", w.src]));
    expect(first.filter((l) => l.startsWith("new ")).sort()).toEqual([
      `new      ${w.src}/a.txt (3 B)`,
      `new      ${w.src}/same.txt (1 B)`,
      `new      ${w.src}/sub/b bé.txt (2 B)`,
    ]);
    expect(first.at(-1)).toMatch(/^[0-9a-f]{64}$/);
    expect(first.some((l) => l.startsWith("files: 3 new, 0 changed, 0 unmodified;"))).toBe(true);
    writeFiles(w.src, { "a.txt": "changed", "c.txt": "c" });
    const out = jsonLines(await ok(w.repo, ["backup", "--verbose", "--json", w.src]));
    const listed = out.filter((e) => e.type === "verbose_status");
    expect(listed.sort((x, y) => String(x.item).localeCompare(String(y.item)))).toEqual([
      { type: "verbose_status", action: "modified", item: `${w.src}/a.txt`, data_size: 7 },
      { type: "verbose_status", action: "new", item: `${w.src}/c.txt`, data_size: 1 },
    ]);
    expect(out.at(-1)).toMatchObject({
      type: "summary",
      files_new: 1,
      files_changed: 1,
      files_unmodified: 2,
    });
  });

  it("restore lists each file written (or, dry, to be written) and each path --delete removes; files already there are not listed", async () => {
    const w = await workspaceOn(kind);
    writeFiles(w.src, { "a.txt": "aaa", "d/b.txt": "bb" });
    await ok(w.repo, ["backup", w.src]);
    const target = join(w.dir, "out");
    const dry = lines(await ok(w.repo, ["restore", "latest", "--target", target, "-n", "-v"]));
    expect(dry.filter((l) => l.startsWith("would restore ")).sort()).toEqual([
      `would restore ${w.src}/a.txt (3 B)`,
      `would restore ${w.src}/d/b.txt (2 B)`,
    ]);
    expect(dry.at(-1)).toMatch(/^dry run: would write 2 new files /);
    const first = lines(await ok(w.repo, ["restore", "latest", "--target", target, "-v"]));
    expect(first.filter((l) => l.startsWith("restored /")).sort()).toEqual([
      `restored ${w.src}/a.txt (3 B)`,
      `restored ${w.src}/d/b.txt (2 B)`,
    ]);
    expect(first.at(-1)).toMatch(/^restored 2 files \(5 B\), /);
    writeFileSync(join(target, w.src, "extra.txt"), "x");
    const again = jsonLines(
      await ok(w.repo, ["restore", "latest", "--target", target, "--delete", "-v", "--json"]),
    );
    expect(again.filter((e) => e.type === "verbose_status")).toEqual([
      { type: "verbose_status", action: "deleted", item: join(target, w.src, "extra.txt") },
    ]);
    expect(again.at(-1)).toMatchObject({ type: "summary", files_restored: 0, files_skipped: 2, deleted: 1 });
  });

  it("check names its phases on stderr; stdout and --json are unchanged", async () => {
    const w = await workspaceOn(kind);
    writeFiles(w.src, { "a.txt": "aaa" });
    await ok(w.repo, ["backup", w.src]);
    const r = await backapp(w.repo, ["check", "--read-data", "-v"]);
    expect(r.code, r.stderr).toBe(0);
    const json = await backapp(w.repo, ["check", "--json", "-v"]);
    expect(json.code).toBe(0);
    const summary = jsonLines(json.stdout).at(-1)!;
    expect(summary).toMatchObject({ type: "summary", snapshots: 1, errors: [] });
    const packs = `${summary.packs} indexed pack${summary.packs === 1 ? "" : "s"}`;
    expect(lines(r.stderr)).toEqual([
      `check: checking that ${packs} are stored, with the right sizes`,
      `check: reading ${packs.replace("indexed ", "")} and authenticating every blob`,
      "check: checking snapshots and the trees and blobs they reference",
    ]);
    const plain = await backapp(w.repo, ["check", "--read-data"]);
    expect(r.stdout).toBe(plain.stdout);
    expect(lines(json.stderr)).toHaveLength(2);
  });

  it("forget prints the full id of each snapshot removed and, with --prune, prune's steps", async () => {
    const w = await workspaceOn(kind);
    writeFiles(w.src, { "a.txt": "1" });
    const old = await backupId(w.repo, [w.src]);
    writeFiles(w.src, { "a.txt": "2" });
    await backupId(w.repo, [w.src]);
    const dry = await ok(w.repo, ["forget", "--keep-last", "1", "--dry-run", "-v"]);
    expect(dry).toContain(`would remove snapshot ${old}\n`);
    const r = await backapp(w.repo, ["forget", "--keep-last", "1", "--prune", "-v"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`removed 1 snapshot\nremoved snapshot ${old}\n`);
    expect(r.stderr).toContain("prune: repacking partly used packs");
    expect(r.stderr).toContain("prune: done");
  });
});

describe("copy -v", () => {
  it("prints full ids and the new blobs each copy stored", async () => {
    const from = await workspace();
    const to = await workspace();
    writeFiles(from.src, { "a.txt": "aaa" });
    const id = await backupId(from.repo, [from.src]);
    const env = {
      BACKAPP_FROM_REPO: from.repo.address,
      BACKAPP_FROM_PASSWORD: from.repo.env.BACKAPP_PASSWORD!,
    };
    const r = await backapp(to.repo, ["copy", "-v"], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^copied ${id} -> [0-9a-f]{64} \\(\\d+ new blobs?\\)\\n`));
    const again = await backapp(to.repo, ["copy", "-v"], { env });
    expect(again.stdout).toContain(`skipped ${id}: already in the destination\n`);
  });
});
