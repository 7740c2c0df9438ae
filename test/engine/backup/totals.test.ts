import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { estimatedTotals, parentTotals } from "../../../src/engine/backup/totals.ts";
import { backup } from "../../../src/engine/backup.ts";
import { createProgress } from "../../../src/engine/progress.ts";
import type { RepositoryImpl } from "../../../src/engine/repository/repository.ts";
import type { ProgressEvent, Snapshot, SnapshotSummary, TreeNode } from "../../../src/engine/types.ts";
import { memoryRepo } from "../../helpers/engine-repo.ts";
import { build, dir, file } from "../../helpers/fs-tree.ts";
import { tempDir } from "../../helpers/temp.ts";
import { snapshotInput } from "../repository/fixtures.ts";

type Scan = Extract<ProgressEvent, { type: "scan" }>;
type Line = Extract<ProgressEvent, { type: "progress" }>;
const scans = (events: ProgressEvent[]) => events.filter((e): e is Scan => e.type === "scan");
const lines = (events: ProgressEvent[]) => events.filter((e): e is Line => e.type === "progress");

const summary = (over: Partial<SnapshotSummary>): SnapshotSummary => ({
  ...snapshotInput("0".repeat(64)).summary,
  ...over,
});
const snap = (s: SnapshotSummary) => ({ summary: s }) as Snapshot;
const node = (name: string, size: number, type: TreeNode["type"] = "file") =>
  ({ name, type, size }) as TreeNode;

describe("parentTotals", () => {
  it("adds up the parent's files and takes its bytes; null without a usable summary", () => {
    const s = summary({ files_new: 2, files_changed: 3, files_unmodified: 5, bytes_processed: 77 });
    expect(parentTotals(snap(s))).toEqual({ files: 10, bytes: 77 });
    expect(parentTotals(null)).toBeNull();
    expect(parentTotals(undefined)).toBeNull();
    expect(parentTotals({} as Snapshot)).toBeNull();
    expect(parentTotals(snap(summary({ bytes_processed: -1 })))).toBeNull();
    expect(parentTotals(snap(summary({ files_new: Number.NaN })))).toBeNull();
  });
});

describe("estimatedTotals", () => {
  it("starts at the parent's totals and follows new, changed and removed files", () => {
    const events: ProgressEvent[] = [];
    let t = 0;
    const progress = createProgress({ operation: "backup", listener: (e) => events.push(e), now: () => t });
    const totals = estimatedTotals(progress, { files: 3, bytes: 300 }, () => t);
    expect(scans(events)).toEqual([{ type: "scan", files_total: 3, bytes_total: 300, done: true }]);
    const parent = new Map([
      ["a", node("a", 100)],
      ["b", node("b", 100)],
      ["gone", node("gone", 100)],
      ["sub", node("sub", 0, "dir")],
    ]);
    const matched = { files: 0, bytes: 0 };
    totals.found(parent.get("a"), 100, matched); // unchanged
    totals.found(parent.get("b"), 150, matched); // grew by 50
    t = 5000; // past the throttle: the next change is shown
    totals.found(undefined, 20, matched); // new
    expect(scans(events).at(-1)).toMatchObject({ files_total: 4, bytes_total: 370 });
    t = 10_000;
    totals.left(parent, matched); // "gone" was not found
    expect(scans(events).at(-1)).toMatchObject({ files_total: 3, bytes_total: 270, done: true });
    totals.finish();
    expect(scans(events).at(-1)).toEqual({ type: "scan", files_total: 3, bytes_total: 270, done: true });
    progress.finish();
  });

  it("shows at most one corrected total per second", () => {
    const events: ProgressEvent[] = [];
    const progress = createProgress({ operation: "backup", listener: (e) => events.push(e), now: () => 0 });
    const totals = estimatedTotals(progress, { files: 0, bytes: 0 }, () => 0);
    for (let i = 0; i < 100; i++) totals.found(undefined, 1, { files: 0, bytes: 0 });
    expect(scans(events)).toHaveLength(1);
    totals.finish();
    expect(scans(events).at(-1)).toMatchObject({ files_total: 100, bytes_total: 100 });
    progress.finish();
  });
});

describe("backup with a parent: totals without a counting walk", () => {
  let tmp: { path: string; cleanup(): void };
  let repo: RepositoryImpl;
  beforeEach(async () => {
    tmp = tempDir();
    repo = await memoryRepo();
  });
  afterEach(async () => {
    await repo.close();
    tmp.cleanup();
  });

  async function run(parent: Snapshot | null) {
    const events: ProgressEvent[] = [];
    const r = await backup(repo, [tmp.path], {
      parent,
      onProgress: (e) => events.push(e),
      progressIntervalMs: 1,
    });
    return { ...r, events };
  }

  it("are exact from the start when nothing changed", async () => {
    build(tmp.path, { d: dir({ one: file("x".repeat(1000)), two: file("two") }), three: file("3") });
    const first = await run(null);
    const second = await run(first.snapshot);
    expect(scans(second.events)).toEqual([
      { type: "scan", files_total: 3, bytes_total: 1004, done: true },
      { type: "scan", files_total: 3, bytes_total: 1004, done: true },
    ]);
    expect(lines(second.events).at(-1)).toMatchObject({ files_done: 3, files_total: 3, bytes_done: 1004 });
  });

  it("end exact after changes, and progress never passes 100%", async () => {
    build(tmp.path, {
      d: dir({ one: file("x".repeat(1000)), two: file("two") }),
      gone: dir({ g1: file("g".repeat(5000)), g2: file("g") }),
      three: file("3"),
    });
    const first = await run(null);
    rmSync(join(tmp.path, "gone"), { recursive: true });
    rmSync(join(tmp.path, "d", "two"));
    writeFileSync(join(tmp.path, "three"), "3".repeat(200_000));
    build(join(tmp.path, "new"), { n: file("n".repeat(300_000)) });
    const second = await run(first.snapshot);
    expect(second.summary).toMatchObject({ files_new: 1, files_changed: 1, files_unmodified: 1 });
    expect(scans(second.events)[0]).toEqual({ type: "scan", files_total: 5, bytes_total: 6005, done: true });
    expect(scans(second.events).at(-1)).toEqual({
      type: "scan",
      files_total: 3,
      bytes_total: 501_000,
      done: true,
    });
    for (const l of lines(second.events)) {
      expect(l.bytes_done).toBeLessThanOrEqual(l.bytes_total);
      expect(l.files_done).toBeLessThanOrEqual(l.files_total);
    }
    expect(lines(second.events).at(-1)).toMatchObject({ files_done: 3, files_total: 3, bytes_done: 501_000 });
  });
});
