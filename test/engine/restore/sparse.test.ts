/**
 * Sparse files restore sparse: blobs that are all zeros are not written, the file's length is set
 * at the end, so the holes come back as holes (a 64 MiB file with two small data regions takes a
 * few hundred KiB on disk after restore, and reads back byte for byte). A dense file with zero
 * runs restores the same bytes (now with holes where the zeros were).
 */
import { createHash } from "node:crypto";
import { closeSync, mkdirSync, openSync, readFileSync, statSync, truncateSync, writeSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { backup } from "../../../src/engine/backup.ts";
import type { RepositoryImpl } from "../../../src/engine/repository/repository.ts";
import { restore } from "../../../src/engine/restore.ts";
import { randomBytesSeeded } from "../../cli/upkeep/fixtures.ts";
import { memoryRepo } from "../../helpers/engine-repo.ts";
import { tempDir } from "../../helpers/temp.ts";

const MiB = 1024 * 1024;
let tmp: ReturnType<typeof tempDir>;
let repo: RepositoryImpl;
beforeEach(async () => {
  tmp = tempDir();
  repo = await memoryRepo();
});
afterEach(() => tmp.cleanup());

const sha = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

describe("sparse files", () => {
  it("restores holes as holes and the bytes exactly", async () => {
    const src = join(tmp.path, "src");
    mkdirSync(src);
    const path = join(src, "disk.img");
    const fd = openSync(path, "w");
    writeSync(fd, randomBytesSeeded(300_000, 1), 0, 300_000, 0);
    writeSync(fd, randomBytesSeeded(300_000, 2), 0, 300_000, 40 * MiB);
    closeSync(fd);
    truncateSync(path, 64 * MiB);
    writeFileDense(join(src, "dense-zeros.bin"));
    const { snapshot } = await backup(repo, [src]);
    const out = join(tmp.path, "out");
    const r = await restore(repo, snapshot, { target: out });
    expect(r.errors).toEqual([]);
    const restored = join(out, path);
    expect(statSync(restored).size).toBe(64 * MiB);
    expect(sha(restored)).toBe(sha(path));
    // Allocated blocks: the data regions (rounded to whole chunks), far below the 64 MiB length.
    expect(statSync(restored).blocks * 512).toBeLessThan(8 * MiB);
    expect(sha(join(out, src, "dense-zeros.bin"))).toBe(sha(join(src, "dense-zeros.bin")));
  });
});

/** 4 MiB: random, then 3 MiB of written zeros, then random again. */
function writeFileDense(path: string): void {
  const fd = openSync(path, "w");
  const zeros = new Uint8Array(3 * MiB);
  writeSync(fd, randomBytesSeeded(512 * 1024, 3));
  writeSync(fd, zeros);
  writeSync(fd, randomBytesSeeded(512 * 1024, 4));
  closeSync(fd);
}
