import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { IndexEntry } from "../../../src/engine/repository/blob-index.ts";
import { packName } from "../../../src/engine/repository/pack-format.ts";
import { coalesce, isPackSource, readRanges } from "../../../src/engine/repository/pack-reader.ts";
import type { RepositoryImpl } from "../../../src/engine/repository/repository.ts";
import type { Backend } from "../../../src/storage/backend.ts";
import { createMemoryBackend } from "../../../src/storage/memory.ts";
import { CancelledError, IntegrityError, NotFoundError } from "../../../src/util/errors.ts";
import { memoryRepo } from "../../helpers/engine-repo.ts";

function entry(offset: number, length: number, id = offset.toString(16).padStart(64, "0")): IndexEntry {
  return { type: "data", id, pack: "p", offset, length, rawLength: length, compression: 0 };
}

describe("coalesce", () => {
  it("merges neighbours within the gap, sorted, and splits past the gap or the size cap", () => {
    const ranges = coalesce("p", [entry(300, 100), entry(0, 100), entry(120, 100), entry(2000, 50)], {
      maxGap: 100,
      maxRange: 10_000,
    });
    expect(ranges.map((r) => [r.offset, r.length, r.blobs.map((b) => b.offset)])).toEqual([
      [0, 400, [0, 120, 300]],
      [2000, 50, [2000]],
    ]);
    const capped = coalesce("p", [entry(0, 100), entry(100, 100), entry(200, 100)], {
      maxGap: 100,
      maxRange: 200,
    });
    expect(capped.map((r) => [r.offset, r.length])).toEqual([
      [0, 200],
      [200, 100],
    ]);
  });

  it("keeps a single blob larger than the cap as one range", () => {
    expect(coalesce("p", [entry(0, 5000)], { maxGap: 0, maxRange: 100 })).toHaveLength(1);
  });
});

/** Counts getStream calls and can corrupt or cancel them. */
function countingBackend(inner: Backend) {
  const calls: Array<{ name: string; offset?: number; length?: number }> = [];
  const backend = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === "getStream") {
        return (name: string, o?: { offset?: number; length?: number; signal?: AbortSignal }) => {
          calls.push({ name, offset: o?.offset, length: o?.length });
          return target.getStream(name, o);
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  return { backend, calls };
}

describe("readRanges", () => {
  let repo: RepositoryImpl;
  let counted: ReturnType<typeof countingBackend>;
  beforeEach(async () => {
    counted = countingBackend(createMemoryBackend());
    repo = await memoryRepo(undefined, counted.backend);
  });
  afterEach(() => repo.close());

  async function store(n: number, size = 20_000) {
    const blobs = Array.from({ length: n }, () => new Uint8Array(randomBytes(size)));
    const ids = blobs.map((b) => repo.blobId(b));
    for (const [i, b] of blobs.entries()) await repo.saveBlob("data", ids[i]!, b);
    await repo.flush();
    const entries = ids.map((id) => repo.lookup("data", id)!);
    return { blobs, ids, entries };
  }

  function collect() {
    const got = new Map<string, Uint8Array>();
    const failed = new Map<string, unknown>();
    return {
      got,
      failed,
      handlers: {
        blob: async (e: IndexEntry, p: Uint8Array) => void got.set(e.id, p.slice()),
        failed: async (e: IndexEntry, err: unknown) => void failed.set(e.id, err),
      },
    };
  }

  it("reads the wanted blobs of a pack with one stream and skips the gaps", async () => {
    const { blobs, ids, entries } = await store(6);
    expect(isPackSource(repo)).toBe(true);
    const wanted = [0, 2, 5].map((i) => entries[i]!);
    const ranges = coalesce(entries[0]!.pack, wanted);
    expect(ranges).toHaveLength(1);
    counted.calls.length = 0;
    const c = collect();
    await readRanges(repo, ranges, c.handlers, { concurrency: 2, signal: new AbortController().signal });
    expect(counted.calls).toHaveLength(1);
    expect(c.failed.size).toBe(0);
    for (const i of [0, 2, 5]) expect(Buffer.from(c.got.get(ids[i]!)!).equals(blobs[i]!)).toBe(true);
    expect(c.got.size).toBe(3);
  });

  it("reports a corrupted blob inside a coalesced range and delivers its neighbours", async () => {
    const { blobs, ids, entries } = await store(4);
    const pack = entries[0]!.pack;
    const bytes = await counted.backend.get(packName(pack));
    bytes[entries[1]!.offset + 5]! ^= 0xff;
    await counted.backend.put(packName(pack), bytes);
    const c = collect();
    await readRanges(repo, coalesce(pack, entries), c.handlers, {
      concurrency: 1,
      signal: new AbortController().signal,
    });
    expect(c.failed.get(ids[1]!)).toBeInstanceOf(IntegrityError);
    expect(String(c.failed.get(ids[1]!))).toContain(ids[1]!);
    expect([...c.got.keys()].sort()).toEqual([ids[0]!, ids[2]!, ids[3]!].sort());
    expect(Buffer.from(c.got.get(ids[3]!)!).equals(blobs[3]!)).toBe(true);
  });

  it("fails the blobs a truncated or missing pack cannot supply", async () => {
    const { ids, entries } = await store(3);
    const pack = entries[0]!.pack;
    const bytes = await counted.backend.get(packName(pack));
    await counted.backend.put(packName(pack), bytes.subarray(0, entries[1]!.offset + 10));
    const c = collect();
    await readRanges(repo, coalesce(pack, entries), c.handlers, {
      concurrency: 1,
      signal: new AbortController().signal,
    });
    expect([...c.got.keys()]).toEqual([ids[0]!]);
    expect(c.failed.get(ids[1]!)).toBeInstanceOf(IntegrityError);
    expect(c.failed.get(ids[2]!)).toBeInstanceOf(IntegrityError);
    await counted.backend.delete(packName(pack));
    const gone = collect();
    await readRanges(repo, coalesce(pack, entries), gone.handlers, {
      concurrency: 1,
      signal: new AbortController().signal,
    });
    expect(gone.failed.get(ids[0]!)).toBeInstanceOf(NotFoundError);
    expect(gone.failed.size).toBe(3);
  });

  it("stops with CancelledError when the signal fires, and rethrows a handler's error", async () => {
    const { entries } = await store(4);
    const ranges = entries.map((e) => coalesce(e.pack, [e])[0]!);
    const ac = new AbortController();
    let seen = 0;
    const run = readRanges(
      repo,
      ranges,
      {
        blob: async () => {
          if (++seen === 1) ac.abort();
        },
        failed: async () => {},
      },
      { concurrency: 1, signal: ac.signal },
    );
    await expect(run).rejects.toThrow(CancelledError);
    expect(seen).toBe(1);
    const boom = readRanges(
      repo,
      ranges,
      {
        blob: async () => {
          throw new Error("disk full");
        },
        failed: async () => {},
      },
      { concurrency: 2, signal: new AbortController().signal },
    );
    await expect(boom).rejects.toThrow("disk full");
  });
});
