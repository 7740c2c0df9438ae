import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  defaultOpenWorkers,
  OFFLOAD_MIN_BYTES,
  OpenPool,
  openWorkersRunning,
  openWorkerUrl,
} from "../../../src/engine/repository/open-pool.ts";
import { packName } from "../../../src/engine/repository/pack-format.ts";
import type { RepositoryImpl } from "../../../src/engine/repository/repository.ts";
import { restore } from "../../../src/engine/restore.ts";
import type { Snapshot, TreeNode } from "../../../src/engine/types.ts";
import type { Backend } from "../../../src/storage/backend.ts";
import { createMemoryBackend } from "../../../src/storage/memory.ts";
import { CancelledError, IntegrityError } from "../../../src/util/errors.ts";
import { memoryRepo } from "../../helpers/engine-repo.ts";
import { tempDir } from "../../helpers/temp.ts";
import { emptySummary } from "../repository/fixtures.ts";

let tmp: { path: string; cleanup(): void };
let repo: RepositoryImpl;
let backend: Backend;
beforeEach(async () => {
  tmp = tempDir();
  backend = createMemoryBackend();
  repo = await memoryRepo(undefined, backend);
});
afterEach(async () => {
  await repo.close();
  tmp.cleanup();
});

const META = { mode: 0o600, uid: 0, gid: 0, mtime: "1600000000000000000", ctime: "0", inode: 1, device: 1 };

async function fileOf(name: string, parts: Uint8Array[]): Promise<TreeNode> {
  const content: string[] = [];
  for (const p of parts) {
    const id = repo.blobId(p);
    await repo.saveBlob("data", id, p);
    content.push(id);
  }
  const size = parts.reduce((n, p) => n + p.length, 0);
  return { name, type: "file", ...META, size, content };
}

async function snapshotOf(nodes: TreeNode[]): Promise<Snapshot> {
  const tree = await repo.saveTree({ nodes: [...nodes].sort((a, b) => (a.name < b.name ? -1 : 1)) });
  await repo.flush();
  const base = { hostname: "h", username: "u", paths: ["/"], tags: [], parent: null };
  return {
    id: "e".repeat(64),
    time: "2026-01-01T00:00:00.000Z",
    ...base,
    tree,
    program_version: "t",
    summary: emptySummary(),
  };
}

/** Text (compressible), random (stored as is), mostly zeros (holes) and small blobs. */
function sampleFiles(): Record<string, Uint8Array[]> {
  const text = new Uint8Array(Buffer.from("restore me from a worker thread\n".repeat(9000)));
  const sparse = new Uint8Array(300_000);
  sparse.set(randomBytes(1000), 150_000);
  const blobs = (n: number, size: number) =>
    Array.from({ length: n }, () => new Uint8Array(randomBytes(size)));
  return {
    random: blobs(6, 120_000),
    text: [text, ...blobs(2, 90_000)],
    sparse: [sparse, new Uint8Array(200_000)],
    small: blobs(3, 2_000),
  };
}

const noParts = (dir: string) => readdirSync(dir).filter((n) => n.startsWith(".backapp-part"));

describe("opening blobs on worker threads", () => {
  it("restores byte for byte with workers as without, holes included", async () => {
    const files = sampleFiles();
    const snapshot = await snapshotOf(await Promise.all(Object.entries(files).map(([n, p]) => fileOf(n, p))));
    for (const openWorkers of [1, 2, 0]) {
      const target = join(tmp.path, `out-${openWorkers}`);
      const summary = await restore(repo, snapshot, { target, openWorkers });
      expect(summary.errors).toEqual([]);
      expect(summary.files_restored).toBe(4);
      for (const [name, parts] of Object.entries(files)) {
        expect(readFileSync(join(target, name)).equals(Buffer.concat(parts)), name).toBe(true);
      }
      const sparse = statSync(join(target, "sparse"));
      expect(sparse.size).toBe(500_000);
      expect(sparse.blocks * 512).toBeLessThan(500_000);
      expect(noParts(target)).toEqual([]);
    }
    expect(openWorkersRunning()).toBe(0);
  });

  it("reports a damaged big blob for its file only, with the same message as opened inline", async () => {
    const files = sampleFiles();
    const snapshot = await snapshotOf(await Promise.all(Object.entries(files).map(([n, p]) => fileOf(n, p))));
    const e = repo.lookup("data", repo.blobId(files.random![2]!))!;
    expect(e.length).toBeGreaterThanOrEqual(OFFLOAD_MIN_BYTES);
    const damaged = (await backend.get(packName(e.pack))).slice();
    damaged[e.offset + 100]! ^= 0x01;
    await backend.put(packName(e.pack), damaged);
    const messages: string[][] = [];
    for (const openWorkers of [1, 0]) {
      const target = join(tmp.path, `out-${openWorkers}`);
      const summary = await restore(repo, snapshot, { target, openWorkers });
      expect(summary.errors.map((x) => x.path)).toEqual(["/random"]);
      expect(summary.files_restored).toBe(3);
      expect(readdirSync(target).sort()).toEqual(["small", "sparse", "text"]);
      messages.push(summary.errors.map((x) => x.message));
    }
    expect(messages[0]).toEqual(messages[1]);
    expect(messages[0]![0]).toContain(e.id);
    expect(openWorkersRunning()).toBe(0);
  });

  it("leaves no worker running and no temporary file when cancelled mid-restore", async () => {
    const nodes: TreeNode[] = [];
    for (let i = 0; i < 12; i++) {
      nodes.push(await fileOf(`f${i}`, [new Uint8Array(randomBytes(100_000))]));
      if (i % 3 === 2) await repo.flush();
    }
    const snapshot = await snapshotOf(nodes);
    const target = join(tmp.path, "out");
    const ac = new AbortController();
    const opts = { target, openWorkers: 2, concurrency: 1, signal: ac.signal };
    await expect(restore(repo, snapshot, { ...opts, onFile: () => ac.abort() })).rejects.toThrow(
      CancelledError,
    );
    expect(openWorkersRunning()).toBe(0);
    expect(noParts(target)).toEqual([]);
    const again = await restore(repo, snapshot, { target, openWorkers: 1 });
    expect(again.errors).toEqual([]);
    expect(again.files_restored + again.files_skipped).toBe(12);
  });

  it("opens on a worker what openStoredBlob opens, refuses damage, and stops when closed", async () => {
    const data = new Uint8Array(randomBytes(100_000));
    const id = repo.blobId(data);
    await repo.saveBlob("data", id, data);
    await repo.flush();
    const e = repo.lookup("data", id)!;
    const stored = (await backend.get(packName(e.pack))).subarray(e.offset, e.offset + e.length);
    const pool = new OpenPool(repo, 1);
    expect(openWorkersRunning()).toBe(1);
    try {
      expect(Buffer.from(await pool.open(e, stored)).equals(data)).toBe(true);
      // the caller's bytes are left as they were (the worker got a copy)
      expect(Buffer.from(repo.openStoredBlob(e, stored)).equals(data)).toBe(true);
      const bad = stored.slice();
      bad[10]! ^= 0x80;
      const inline = (() => {
        try {
          repo.openStoredBlob(e, bad);
        } catch (err) {
          return (err as Error).message;
        }
      })();
      await expect(pool.open(e, bad)).rejects.toThrow(IntegrityError);
      await expect(pool.open(e, bad)).rejects.toThrow(inline);
      // buffers handed back by the worker carry later blobs, bigger and smaller, unharmed
      for (const size of [300_000, 40_000, 100_000, 250_000]) {
        const more = new Uint8Array(randomBytes(size));
        await repo.saveBlob("data", repo.blobId(more), more);
        await repo.flush();
        const m = repo.lookup("data", repo.blobId(more))!;
        const raw = (await backend.get(packName(m.pack))).subarray(m.offset, m.offset + m.length);
        expect(Buffer.from(await pool.open(m, raw)).equals(more), String(size)).toBe(true);
      }
    } finally {
      pool.close();
    }
    expect(openWorkersRunning()).toBe(0);
    await expect(pool.open(e, stored)).rejects.toThrow(CancelledError);
  });

  it("finds its worker next to the module from source and under src/ inside the compiled binary", () => {
    expect(openWorkerUrl("file:///w/src/engine/repository/open-pool.ts")).toBe(
      "file:///w/src/engine/repository/open-worker.ts",
    );
    expect(openWorkerUrl("file:///$bunfs/root/backapp")).toBe(
      "file:///$bunfs/root/engine/repository/open-worker.ts",
    );
  });

  it("uses no worker below 4 cores (measured: no gain on 2 shared cores), then the cores beyond two", () => {
    expect([1, 2, 3, 4, 5, 8, 64].map((n) => defaultOpenWorkers(n))).toEqual([0, 0, 0, 2, 3, 3, 3]);
  });
});
