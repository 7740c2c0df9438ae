/**
 * Blob buffers are reused or freed early (util/release.ts, GetOptions.reuseChunks): sealing and
 * reading many blobs of every kind through the same few buffers must keep every byte intact.
 */
import { createHash, randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { initRepository } from "../../../src/engine/repository/open.ts";
import { coalesce, readRanges } from "../../../src/engine/repository/pack-reader.ts";
import type { RepositoryImpl } from "../../../src/engine/repository/repository.ts";
import { createLocalBackend } from "../../../src/storage/local.ts";
import { tempDir } from "../../helpers/temp.ts";
import { mixed } from "./fixtures.ts";

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** Sizes around the 1 MiB read chunk and the 64 KiB staging class, compressible and not. */
function blobs(): Uint8Array[] {
  const sizes = [100, 20_000, 70_000, 300_000, 1024 * 1024 - 3, 1024 * 1024 + 5, 2_500_000];
  const out: Uint8Array[] = [];
  for (let round = 0; round < 4; round++) {
    for (const [i, size] of sizes.entries()) {
      const kind = (round + i) % 3;
      const text = new TextEncoder()
        .encode(`blob ${round}/${i} `.repeat(Math.ceil(size / 10)))
        .subarray(0, size);
      out.push(
        kind === 0 ? new Uint8Array(randomBytes(size)) : kind === 1 ? text : mixed(size, round * 10 + i),
      );
    }
  }
  return out;
}

describe.each([
  { name: "encrypted, compressed", encryption: true, compression: "auto" as const },
  { name: "unencrypted, uncompressed", encryption: false, compression: "off" as const },
])("blobs through reused buffers ($name)", ({ encryption, compression }) => {
  let dir: ReturnType<typeof tempDir>;
  let repo: RepositoryImpl;
  beforeEach(async () => {
    dir = tempDir();
    repo = await initRepository(createLocalBackend(dir.path), "pw", {
      scrypt: { N: 1024, r: 8, p: 1 },
      workers: 1,
      encryption,
      compression,
      packSize: 4 * 1024 * 1024,
    });
  });
  afterEach(async () => {
    await repo.close();
    dir.cleanup();
  });

  it("round-trips every blob byte for byte, read back several times at once", async () => {
    const all = blobs();
    const want = new Map<string, string>();
    // The caller reuses one buffer for every blob it saves (saveBlob copies before returning).
    const scratch = new Uint8Array(3 * 1024 * 1024);
    for (const b of all) {
      scratch.set(b);
      const view = scratch.subarray(0, b.byteLength);
      const id = repo.blobId(view);
      want.set(id, sha(b));
      await repo.saveBlob("data", id, view);
      scratch.fill(0xee, 0, b.byteLength); // a buffer still in use would now be wrong
    }
    await repo.flush();
    const entries = [...want.keys()].map((id) => repo.lookup("data", id)!);
    const byPack = Map.groupBy(entries, (e) => e.pack);
    const ranges = [...byPack].flatMap(([pack, es]) => coalesce(pack, es));
    for (let pass = 0; pass < 3; pass++) {
      const seen = new Map<string, string>();
      await readRanges(
        repo,
        ranges,
        {
          // Hashed while it is valid, then given up (the reader frees or reuses its memory).
          blob: async (e, plain) => void seen.set(e.id, sha(plain)),
          failed: async (e, err) => {
            throw new Error(`blob ${e.id} failed: ${String(err)}`);
          },
        },
        { concurrency: 3, signal: new AbortController().signal },
      );
      expect(seen).toEqual(want);
    }
    for (const b of all) expect(b.byteLength).toBeGreaterThan(0); // the caller's own data untouched
  });
});
