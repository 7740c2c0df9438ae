import { randomBytes } from "node:crypto";
import {
  closeSync,
  openSync,
  readFileSync,
  rmSync,
  symlinkSync,
  truncateSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { backup } from "../../../src/engine/backup.ts";
import { chooseSample, seededRandom, verifyFiles } from "../../../src/engine/browse/sample.ts";
import { TreeCache } from "../../../src/engine/browse/trees.ts";
import { restore } from "../../../src/engine/restore.ts";
import type { Snapshot } from "../../../src/engine/types.ts";
import { CancelledError, ValidationError } from "../../../src/util/errors.ts";
import { build, dir, file } from "../../helpers/fs-tree.ts";
import { buildAwkward, type Fixture, LATIN1_STORED, localFixture } from "./fixture.ts";

let fx: Fixture;
let snapshot: Snapshot;
beforeEach(async () => {
  fx = await localFixture();
  buildAwkward(fx.src);
  const many: Record<string, ReturnType<typeof file>> = {};
  for (let i = 0; i < 40; i++) many[`f${String(i).padStart(2, "0")}`] = file(randomBytes(1000 + i * 100));
  build(join(fx.src, "many"), { sub: dir(many) });
  snapshot = (await backup(fx.repo, [fx.src])).snapshot;
});
afterEach(() => fx.cleanup());

describe("chooseSample", () => {
  it("picks the same files for the same seed, within count and byte budget", async () => {
    const trees = new TreeCache(fx.repo);
    const a = await chooseSample(trees, snapshot, { count: 10, maxBytes: 1_000_000, seed: "drill-1" });
    const b = await chooseSample(trees, snapshot, { count: 10, maxBytes: 1_000_000, seed: "drill-1" });
    const c = await chooseSample(trees, snapshot, { count: 10, maxBytes: 1_000_000, seed: "drill-2" });
    expect(a.files).toEqual(b.files);
    expect(a.files.map((f) => f.path)).not.toEqual(c.files.map((f) => f.path));
    expect(a.files).toHaveLength(10);
    expect(a.candidates).toBe(40 + 9); // the awkward tree's 9 regular files and "many"
    expect(a.bytes).toBe(a.files.reduce((n, f) => n + f.size, 0));
    const tight = await chooseSample(trees, snapshot, { count: 100, maxBytes: 5000, seed: "x" });
    expect(tight.bytes).toBeLessThanOrEqual(5000);
    expect(tight.files.every((f) => f.size <= 5000)).toBe(true);
    const all = await chooseSample(trees, snapshot, {
      count: 1000,
      maxBytes: 10_000_000,
      path: `${fx.src}/many`,
    });
    expect(all.files).toHaveLength(40);
    expect(all.seed).toMatch(/^[0-9a-f]{16}$/);
    await expect(chooseSample(trees, snapshot, { count: 0, maxBytes: 1 })).rejects.toThrow(ValidationError);
    await expect(chooseSample(trees, snapshot, { count: 1, maxBytes: 1, path: "/.." })).rejects.toThrow(
      ValidationError,
    );
  });

  it("gives every file a fair chance (a seeded spread over many draws)", async () => {
    const trees = new TreeCache(fx.repo);
    const hits = new Map<string, number>();
    for (let i = 0; i < 200; i++) {
      const s = await chooseSample(trees, snapshot, {
        count: 5,
        maxBytes: 1e9,
        seed: `s${i}`,
        path: `${fx.src}/many`,
      });
      for (const f of s.files) hits.set(f.path, (hits.get(f.path) ?? 0) + 1);
    }
    // 200 draws of 5 of 40: 25 expected each; every file drawn, none hugely favoured.
    expect(hits.size).toBe(40);
    expect(Math.max(...hits.values())).toBeLessThan(60);
    const r = seededRandom("a");
    expect([r(), r()]).toEqual([seededRandom("a")(), expect.any(Number)]);
  });
});

describe("verifyFiles", () => {
  it("passes a faithful restore and reports each kind of damage", async () => {
    const trees = new TreeCache(fx.repo);
    const sample = await chooseSample(trees, snapshot, { count: 1000, maxBytes: 1e9, seed: "all" });
    const paths = sample.files.map((f) => f.path);
    expect(paths).toContain(`${fx.src}/docs/${LATIN1_STORED}`);
    await restore(fx.repo, snapshot, { target: fx.scratch, includes: paths });
    const ok = await verifyFiles(fx.repo, sample.files, { root: fx.scratch });
    expect(ok).toEqual({
      filesChecked: sample.files.length,
      bytesChecked: sample.bytes,
      skipped: 0,
      mismatches: [],
    });

    const at = (name: string) => join(fx.scratch, fx.src, "many", "sub", name);
    const fd = openSync(at("f01"), "r+");
    writeSync(fd, Buffer.from([readFileSync(at("f01"))[500]! ^ 1]), 0, 1, 500);
    closeSync(fd);
    rmSync(at("f02"));
    truncateSync(at("f03"), 10);
    rmSync(at("f04"));
    symlinkSync(at("f05"), at("f04"));
    rmSync(join(fx.scratch, fx.src, "docs"), { recursive: true });
    writeFileSync(join(fx.scratch, fx.src, "docs"), "a file where a folder was");
    const bad = await verifyFiles(fx.repo, sample.files, { root: `${fx.scratch}/` });
    const byPath = new Map(bad.mismatches.map((m) => [m.path.slice(fx.src.length), m.reason]));
    expect(byPath.get("/many/sub/f01")).toBe("content");
    expect(byPath.get("/many/sub/f02")).toBe("missing");
    expect(byPath.get("/many/sub/f03")).toBe("size");
    expect(byPath.get("/many/sub/f04")).toBe("not a file");
    expect(byPath.get(`/docs/${LATIN1_STORED}`)).toBe("missing");
    expect(bad.filesChecked).toBe(sample.files.length);
  });

  it("checks the live source, skipping files changed since the snapshot", async () => {
    const trees = new TreeCache(fx.repo);
    const sample = await chooseSample(trees, snapshot, {
      count: 1000,
      maxBytes: 1e9,
      path: `${fx.src}/many`,
    });
    const f = join(fx.src, "many", "sub", "f07");
    writeFileSync(f, "changed");
    const g = join(fx.src, "many", "sub", "f08");
    const before = readFileSync(g);
    before[0] = before[0]! ^ 1;
    const st = Date.now() / 1000;
    writeFileSync(g, before); // same size, new mtime: skipped as changed
    utimesSync(g, st, st);
    const report = await verifyFiles(fx.repo, sample.files, { root: "/", skipChanged: true });
    expect(report).toMatchObject({ filesChecked: 38, skipped: 2, mismatches: [] });
    const ac = new AbortController();
    ac.abort();
    await expect(verifyFiles(fx.repo, sample.files, { root: "/", signal: ac.signal })).rejects.toThrow(
      CancelledError,
    );
  });
});
