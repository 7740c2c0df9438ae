/**
 * Sparse files are backed up without reading their holes (lseek SEEK_DATA/SEEK_HOLE) and give the
 * very blob ids reading the zeros would give: a dense copy of the same bytes has the same content
 * list (so dedup holds between them), and the file restores byte for byte and sparse. Holes at the
 * start, between data islands (shorter and longer than a chunk), at odd offsets and at the end.
 */
import { createHash } from "node:crypto";
import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { saveFile } from "../../../src/engine/backup/file.ts";
import { holeMap } from "../../../src/engine/backup/sparse.ts";
import { backup } from "../../../src/engine/backup.ts";
import type { RepositoryImpl } from "../../../src/engine/repository/repository.ts";
import { restore } from "../../../src/engine/restore.ts";
import type { ChunkerParams } from "../../../src/engine/types.ts";
import { randomBytesSeeded } from "../../cli/upkeep/fixtures.ts";
import { memoryRepo, SMALL_CHUNKS } from "../../helpers/engine-repo.ts";
import { tempDir } from "../../helpers/temp.ts";

const MiB = 1024 * 1024;
const LENGTH = 48 * MiB;
/** Data islands [offset, length]; everything else is a hole. */
const ISLANDS: Array<[number, number]> = [
  [3 * MiB, 300_000],
  [3 * MiB + 400 * 1024, 300_000],
  [20 * MiB + 5555, MiB],
  [30 * MiB, 4096],
];

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

const sha = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");
const ctx = (repo: RepositoryImpl, counted: { n: number }) => ({
  repo,
  signal: new AbortController().signal,
  onBytes: (n: number) => {
    counted.n += n;
  },
});

function writeSparse(path: string): void {
  const fd = openSync(path, "w");
  for (const [i, [offset, length]] of ISLANDS.entries()) {
    writeSync(fd, randomBytesSeeded(length, i + 1), 0, length, offset);
  }
  closeSync(fd);
  truncateSync(path, LENGTH);
}

/** The same bytes with the zeros written out (every block allocated). */
function writeDense(path: string): void {
  const bytes = new Uint8Array(LENGTH);
  for (const [i, [offset, length]] of ISLANDS.entries()) bytes.set(randomBytesSeeded(length, i + 1), offset);
  writeFileSync(path, bytes);
}

describe.each([
  ["small chunks", SMALL_CHUNKS],
  ["default chunks", {}],
])("sparse backup, %s", (_, chunker: Partial<ChunkerParams>) => {
  let repo: RepositoryImpl;
  beforeEach(async () => {
    repo = await memoryRepo(chunker);
  });
  afterEach(() => repo.close());

  it("skips the holes and gives the ids of the dense bytes", async () => {
    const src = join(tmp.path, "src");
    mkdirSync(src);
    writeSparse(join(src, "disk.img"));
    writeDense(join(src, "dense.img"));
    const st = statSync(join(src, "disk.img"));
    expect(st.blocks * 512).toBeLessThan(4 * MiB); // the file system kept the holes
    const fd = openSync(join(src, "disk.img"), "r");
    try {
      const first = holeMap(fd, st.size, st.blocks)?.next(0);
      expect(first).toEqual({ hole: 3 * MiB, data: expect.any(Number) });
    } finally {
      closeSync(fd);
    }

    const sparseBytes = { n: 0 };
    const sparse = await saveFile(ctx(repo, sparseBytes), Buffer.from(join(src, "disk.img")), "disk.img");
    const dense = await saveFile(ctx(repo, { n: 0 }), Buffer.from(join(src, "dense.img")), "dense.img");
    expect(sparse.node.size).toBe(LENGTH);
    expect(sparseBytes.n).toBe(LENGTH);
    expect(sparse.node.content).toEqual(dense.node.content);
    expect(sparse.bytesAdded).toBeGreaterThan(0);
    expect(dense.bytesAdded).toBe(0); // every chunk was already there

    const { snapshot } = await backup(repo, [src]);
    const out = join(tmp.path, "out");
    const r = await restore(repo, snapshot, { target: out });
    expect(r.errors).toEqual([]);
    const restored = join(out, src, "disk.img");
    expect(statSync(restored).size).toBe(LENGTH);
    expect(sha(restored)).toBe(sha(join(src, "disk.img")));
    // Allocated: the islands rounded to whole chunks, far below the 48 MiB length.
    expect(statSync(restored).blocks * 512).toBeLessThan(20 * MiB);
  });

  it("backs up a file that is one hole", async () => {
    const path = join(tmp.path, "empty.img");
    writeFileSync(path, "");
    truncateSync(path, 9 * MiB + 17);
    const saved = await saveFile(ctx(repo, { n: 0 }), Buffer.from(path), "empty.img");
    const densePath = join(tmp.path, "zeros.img");
    writeFileSync(densePath, new Uint8Array(9 * MiB + 17));
    const dense = await saveFile(ctx(repo, { n: 0 }), Buffer.from(densePath), "zeros.img");
    expect(saved.node.size).toBe(9 * MiB + 17);
    expect(saved.node.content).toEqual(dense.node.content);
  });
});

it("holeMap: none for a dense file", () => {
  const path = join(tmp.path, "dense");
  writeFileSync(path, new Uint8Array(MiB));
  const st = statSync(path);
  const fd = openSync(path, "r");
  try {
    expect(holeMap(fd, st.size, st.blocks)).toBeNull();
  } finally {
    closeSync(fd);
  }
});
