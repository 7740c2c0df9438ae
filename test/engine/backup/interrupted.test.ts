/**
 * What a backup that stops early leaves for the next one: the packs it uploaded are indexed when it
 * is cancelled, and at least every `indexEveryMs` while it runs, so the next backup reuses them
 * instead of uploading the same data again. Nothing references them until a snapshot does.
 */
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { backup } from "../../../src/engine/backup.ts";
import { checkRepository } from "../../../src/engine/check.ts";
import { initRepository, openRepository } from "../../../src/engine/repository/open.ts";
import type { Backend } from "../../../src/storage/backend.ts";
import { createMemoryBackend } from "../../../src/storage/memory.ts";
import { CancelledError } from "../../../src/util/errors.ts";
import { SMALL_CHUNKS } from "../../helpers/engine-repo.ts";
import { tempDir } from "../../helpers/temp.ts";

let tmp: { path: string; cleanup(): void };
let backend: Backend;
beforeEach(() => {
  tmp = tempDir();
  backend = createMemoryBackend();
});
afterEach(() => tmp.cleanup());

const OPTS = { scrypt: { N: 1024, r: 8, p: 1 }, workers: 0, chunker: SMALL_CHUNKS, packSize: 256 * 1024 };
const MB = 1_000_000;

async function names(prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of backend.list(prefix)) out.push(o.name);
  return out;
}

function sourceFiles(count: number): string {
  const src = join(tmp.path, "src");
  for (let i = 0; i < count; i++) writeFileSync(join(tmp.path, `f${i}`), randomBytes(MB));
  return src;
}

describe("an interrupted backup", () => {
  it("indexes the packs it uploaded when cancelled; the next backup reuses them", async () => {
    sourceFiles(8);
    const repo = await initRepository(backend, "pw", OPTS);
    const ac = new AbortController();
    const run = backup(repo, [tmp.path], {
      signal: ac.signal,
      progressIntervalMs: 1,
      onProgress: (e) => {
        if (e.type === "progress" && e.bytes_done >= 5 * MB) ac.abort();
      },
    });
    await expect(run).rejects.toThrow(CancelledError);
    await repo.close();
    expect(await names("snapshots/")).toEqual([]);
    expect((await names("index/")).length).toBe(1);

    const again = await openRepository(backend, "pw", OPTS);
    const { summary } = await backup(again, [tmp.path]);
    expect(summary.errors).toEqual([]);
    // At least the first 4 MB were uploaded and indexed before the cancel: not sent again.
    expect(summary.bytes_added).toBeLessThan(4.5 * MB);
    expect((await checkRepository(again, { readData: true })).errors).toEqual([]);
    await again.close();
  });

  it("writes an index file once the oldest unindexed pack is older than indexEveryMs", async () => {
    sourceFiles(3);
    const repo = await initRepository(backend, "pw", { ...OPTS, indexEveryMs: 0 });
    await backup(repo, [tmp.path]);
    await repo.close();
    // Every pack upload wrote its own index file (3 MB in 256 KiB packs), plus the final flush's.
    expect((await names("index/")).length).toBeGreaterThan(5);
    const reopened = await openRepository(backend, "pw", OPTS);
    expect((await checkRepository(reopened, {})).errors).toEqual([]);
    await reopened.close();
  });
});
