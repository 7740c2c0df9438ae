/**
 * Index files are read ahead while the key is derived (prefetch.ts): each is read once, what is
 * used is decided by the listing made after the lock, and a failed read fails the open as before.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { backup } from "../../../src/engine/backup.ts";
import { loadIndex, openRepository } from "../../../src/engine/repository/open.ts";
import { Prefetch } from "../../../src/engine/repository/prefetch.ts";
import type { Backend } from "../../../src/storage/backend.ts";
import { createMemoryBackend } from "../../../src/storage/memory.ts";
import { PermanentStorageError } from "../../../src/util/errors.ts";
import { memoryRepo } from "../../helpers/engine-repo.ts";
import { tempDir } from "../../helpers/temp.ts";

/** A real in-memory backend that counts the reads of each object. */
function counting(inner: Backend): Backend & { reads: Map<string, number> } {
  const reads = new Map<string, number>();
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === "reads") return reads;
      const v = Reflect.get(target, prop, receiver);
      if (prop === "get" && typeof v === "function") {
        return (name: string, ...rest: unknown[]) => {
          reads.set(name, (reads.get(name) ?? 0) + 1);
          return v.call(target, name, ...rest);
        };
      }
      return typeof v === "function" ? v.bind(target) : v;
    },
  }) as Backend & { reads: Map<string, number> };
}

async function names(backend: Backend, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of backend.list(prefix)) out.push(o.name);
  return out.sort();
}

/** Waits until `done` holds (the read-ahead runs in the background). */
async function until(done: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error("condition not met in 10 s");
    await new Promise((r) => setTimeout(r, 5));
  }
}

let tmp: ReturnType<typeof tempDir>;
let inner: Backend;
beforeEach(async () => {
  tmp = tempDir();
  inner = createMemoryBackend();
  const repo = await memoryRepo(undefined, inner);
  // Three backups: three snapshots and three index files.
  for (const n of [1, 2, 3]) {
    writeFileSync(join(tmp.path, `f${n}`), `content ${n}`.repeat(100));
    await backup(repo, [tmp.path]);
  }
  await repo.close();
});
afterEach(() => tmp.cleanup());

describe("reading ahead while opening", () => {
  it("reads each index file once, however early it was read", async () => {
    const backend = counting(inner);
    const repo = await openRepository(backend, "pw", { workers: 0, ownsBackend: false });
    try {
      expect(repo.indexFiles).toHaveLength(3);
      const files = await names(inner, "index/");
      expect(files).toHaveLength(3);
      for (const name of files) expect(backend.reads.get(name), name).toBe(1);
      expect(await repo.listSnapshots()).toHaveLength(3);
    } finally {
      await repo.close();
    }
  });

  it("fails the open with a read's failure, as a read of its own would have", async () => {
    const [first] = await names(inner, "index/");
    const failing = new Proxy(inner, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver);
        if (prop === "get" && typeof v === "function") {
          return (name: string, ...rest: unknown[]) =>
            name === first
              ? Promise.reject(new PermanentStorageError("disk on fire"))
              : v.call(target, name, ...rest);
        }
        return typeof v === "function" ? v.bind(target) : v;
      },
    }) as Backend;
    await expect(openRepository(failing, "pw", { workers: 0, ownsBackend: false })).rejects.toThrow(
      /disk on fire/,
    );
    // Nothing was left behind: the lock was released.
    expect(await names(inner, "locks/")).toEqual([]);
  });

  it("uses only what is listed after the lock: an index file removed meanwhile is not loaded", async () => {
    const open = await openRepository(inner, "pw", { workers: 0, ownsBackend: false, lock: "none" });
    const keys = open.masterKeys;
    await open.close();
    const backend = counting(inner);
    const all = await names(inner, "index/");
    const prefetch = new Prefetch(backend, "index/");
    await until(() => all.every((n) => backend.reads.get(n) === 1));
    // A prune finished between the read-ahead and the lock: one index file is gone.
    await inner.delete(all[0]!);
    const loaded = await loadIndex(backend, keys, undefined, prefetch);
    expect(loaded.indexFiles.sort()).toEqual(all.slice(1).map((n) => n.slice("index/".length)));
    expect(loaded.loadErrors).toEqual([]);
    // The others came from the read-ahead: no second read.
    for (const name of all.slice(1)) expect(backend.reads.get(name)).toBe(1);
    prefetch.close();
  });

  it("still checks what it read ahead: damaged bytes are reported, not used", async () => {
    const open = await openRepository(inner, "pw", { workers: 0, ownsBackend: false, lock: "none" });
    const keys = open.masterKeys;
    await open.close();
    const [first] = await names(inner, "index/");
    const bytes = await inner.get(first!);
    bytes[bytes.length - 1]! ^= 0xff;
    await inner.put(first!, bytes);
    const prefetch = new Prefetch(inner, "index/");
    const loaded = await loadIndex(inner, keys, undefined, prefetch);
    expect(loaded.loadErrors.map((e) => e.object)).toEqual([first]);
    expect(loaded.indexFiles).toHaveLength(2);
    prefetch.close();
  });

  it("stops at its byte budget and hands nothing out once closed", async () => {
    const backend = counting(inner);
    // Read ahead one at a time (a byte budget of 1), there are more files than reads in flight.
    for (const n of [4, 5, 6, 7, 8, 9, 10, 11, 12]) {
      writeFileSync(join(tmp.path, `f${n}`), `content ${n}`);
      const repo = await openRepository(inner, "pw", { workers: 0, ownsBackend: false });
      await backup(repo, [tmp.path]);
      await repo.close();
    }
    const all = await names(inner, "index/");
    expect(all.length).toBeGreaterThan(8);
    backend.reads.clear();
    const prefetch = new Prefetch(backend, "index/", undefined, 1);
    await until(() => backend.reads.size > 0);
    await new Promise((r) => setTimeout(r, 50));
    // The first read to land ends the read-ahead; at most one batch of reads was started.
    expect(backend.reads.size).toBeLessThan(all.length);
    prefetch.close();
    for (const name of all) expect(prefetch.take(name)).toBeUndefined();
  });
});
