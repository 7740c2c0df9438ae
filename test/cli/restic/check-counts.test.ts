import { describe, expect, it } from "vitest";
import { randomBytesSeeded } from "../upkeep/fixtures.ts";
import { backapp, ok, workspace, writeFiles } from "./fixtures.ts";

interface CheckJson {
  type: string;
  snapshots: number;
  packs: number;
  blobs: number;
  packs_read: number;
  blobs_read: number;
  errors: unknown[];
}

async function checkJson(repo: Parameters<typeof ok>[0], args: string[]): Promise<CheckJson> {
  const lines = (await ok(repo, ["check", "--json", ...args])).trim().split("\n");
  const last = JSON.parse(lines.at(-1)!) as CheckJson;
  expect(last.type).toBe("summary");
  return last;
}

describe("check counts what it checked", () => {
  it("reports the same blobs with and without --read-data, and the packs a subset really read", async () => {
    const w = await workspace();
    // Two backups of different data (each writes its own packs), the same file content referenced twice.
    writeFiles(w.src, { "a.bin": randomBytesSeeded(50_000, 1), "a-copy.bin": randomBytesSeeded(50_000, 1) });
    await ok(w.repo, ["backup", w.src]);
    writeFiles(w.src, { "b.bin": randomBytesSeeded(50_000, 2) });
    await ok(w.repo, ["backup", w.src]);

    const plain = await checkJson(w.repo, []);
    const full = await checkJson(w.repo, ["--read-data"]);
    expect(plain.snapshots).toBe(2);
    expect(plain.packs).toBeGreaterThanOrEqual(2);
    expect(plain.packs_read).toBe(0);
    expect(full.blobs).toBe(plain.blobs);
    expect(full.packs_read).toBe(plain.packs);
    // Every stored blob is referenced here, so reading finds exactly the blobs the walk counted.
    expect(full.blobs_read).toBe(plain.blobs);
    const subset = await checkJson(w.repo, ["--read-data-subset", "10%"]);
    expect(subset.packs_read).toBe(1);
    expect(subset.blobs_read).toBeLessThan(full.blobs_read);

    const text = await ok(w.repo, ["check", "--read-data-subset", "10%"]);
    expect(text).toContain(
      `checked 2 snapshots, ${plain.packs} packs, ${plain.blobs} blobs; read 1 of ${plain.packs} packs (`,
    );
    expect(text).toContain("10% asked)");
    const all = await ok(w.repo, ["check", "--read-data"]);
    expect(all).toContain(`; read all ${plain.packs} packs (${plain.blobs} blobs)`);
  });

  it("says 1 snapshot, not 1 snapshots", async () => {
    const w = await workspace();
    writeFiles(w.src, { "a.txt": "a" });
    await ok(w.repo, ["backup", w.src]);
    const r = await backapp(w.repo, ["check"]);
    expect(r.stdout).toMatch(/^checked 1 snapshot, \d+ packs, \d+ blobs\n/);
  });
});

describe("plurals", () => {
  it("restore says 1 file and 1 symlink", async () => {
    const w = await workspace();
    writeFiles(w.src, { "one/a.txt": "a" });
    const { symlinkSync } = await import("node:fs");
    symlinkSync("a.txt", `${w.src}/one/link`);
    const backup = await ok(w.repo, ["backup", `${w.src}/one`]);
    expect(backup).not.toMatch(/\b1 folders\b/);
    const restored = await ok(w.repo, ["restore", "latest", "--target", `${w.dir}/out`]);
    expect(restored).toMatch(/^restored 1 file \(1 B\), \d+ folders, 1 symlink; /);
  });
});
