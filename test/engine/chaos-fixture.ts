/**
 * Shared pieces of the storage-fault chaos tests: a small real source tree, a repository on an
 * in-memory backend seen through a FaultyBackend (optionally behind the retry wrapper, with
 * millisecond backoff), and the checks every scenario ends with — the repository opens cleanly,
 * `check --read-data` finds nothing, and the latest snapshot restores byte for byte.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { expect } from "vitest";
import { backup } from "../../src/engine/backup.ts";
import { checkRepository } from "../../src/engine/check.ts";
import type { OpenOptions } from "../../src/engine/repository/open.ts";
import { initRepository, openRepository } from "../../src/engine/repository/open.ts";
import type { RepositoryImpl } from "../../src/engine/repository/repository.ts";
import { restore } from "../../src/engine/restore.ts";
import type { Backend } from "../../src/storage/backend.ts";
import { type FaultRule, FaultyBackend } from "../../src/storage/faulty.ts";
import { createMemoryBackend, type MemoryBackend } from "../../src/storage/memory.ts";
import { withRetry } from "../../src/storage/retry.ts";
import { build, dir, file, link, listTree, treeDifferences } from "../helpers/fs-tree.ts";

const PW = "chaos";
const TUNING: OpenOptions = { workers: 0, packSize: 48 * 1024, ownsBackend: false };

/** A seeded uniform generator (mulberry32): every failing draw can be replayed. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** ~700 KiB over a dozen files: random and text, nested, empty, a symlink. */
let sources = 0;

export function buildSource(root: string, variant = 0): string {
  sources++;
  const src = join(root, `src-${variant}-${sources}`);
  const text = (n: number) => `line ${variant} of text that compresses well\n`.repeat(n);
  build(src, {
    "random.bin": file(randomBytes(260_000)),
    "text.txt": file(text(3000)),
    empty: file(""),
    sub: dir({
      "more.bin": file(randomBytes(90_000 + variant * 1000)),
      ...Object.fromEntries(
        Array.from({ length: 8 }, (_, i) => [`small-${i}.txt`, file(`small ${i} ${variant}\n`)]),
      ),
      deeper: dir({ "leaf.bin": file(randomBytes(40_000)) }),
    }),
    "empty-dir": dir({}),
    link: link("sub/more.bin"),
  });
  return src;
}

export async function initMemory(): Promise<MemoryBackend> {
  const memory = createMemoryBackend();
  const repo = await initRepository(memory, PW, {
    scrypt: { N: 1024, r: 8, p: 1 },
    ...TUNING,
    chunker: { min: 8 * 1024, avg: 16 * 1024, max: 64 * 1024 },
  });
  await repo.close();
  return memory;
}

/** The memory backend seen through `rules`, behind retries (1 ms backoff) when `retry` is set. */
export function faulty(
  inner: Backend,
  rules: FaultRule[],
  opts: { retry?: boolean; random?: () => number } = {},
): { faults: FaultyBackend; backend: Backend } {
  const faults = new FaultyBackend(inner, { rules, random: opts.random });
  const backend = opts.retry ? withRetry(faults, { attempts: 12, baseDelayMs: 1, maxDelayMs: 4 }) : faults;
  return { faults, backend };
}

function openRepo(backend: Backend, options: OpenOptions = {}): Promise<RepositoryImpl> {
  return openRepository(backend, PW, { ...TUNING, ...options });
}

/** Runs `fn` on a repository opened over `backend`, closing it whatever happens. */
export async function withRepo<T>(
  backend: Backend,
  fn: (repo: RepositoryImpl) => Promise<T>,
  options: OpenOptions = {},
): Promise<T> {
  const repo = await openRepo(backend, options);
  try {
    return await fn(repo);
  } finally {
    await repo.close().catch(() => {});
  }
}

export function backupOnce(backend: Backend, src: string, options: OpenOptions = {}) {
  return withRepo(backend, (repo) => backup(repo, [src], { hostname: "chaos" }), options);
}

/** check --read-data on the untouched backend: the problems it names. */
export async function checkClean(memory: Backend): Promise<string[]> {
  const r = await withRepo(memory, (repo) => checkRepository(repo, { readData: true }));
  return r.errors.map((e) => `${e.object}: ${e.message}`);
}

/** The newest snapshot restores into a fresh folder exactly as `src` is. */
export async function expectRestores(memory: Backend, src: string, target: string): Promise<void> {
  await withRepo(memory, async (repo) => {
    const snapshots = await repo.listSnapshots();
    const latest = snapshots.at(-1)!;
    const r = await restore(repo, latest, { target });
    expect(r.errors).toEqual([]);
  });
  expect(treeDifferences(listTree(src), listTree(join(target, src)))).toEqual([]);
}
