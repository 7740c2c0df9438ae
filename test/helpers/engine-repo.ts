/**
 * A real repository (src/engine/repository) over the in-memory or a local-folder backend, with cheap
 * scrypt and inline sealing so tests stay fast, for archiver and restorer tests.
 */
import { afterEach, beforeEach } from "vitest";
import { initRepository } from "../../src/engine/repository/open.ts";
import type { RepositoryImpl } from "../../src/engine/repository/repository.ts";
import type { ChunkerParams, Repository } from "../../src/engine/types.ts";
import type { Backend } from "../../src/storage/backend.ts";
import { createMemoryBackend } from "../../src/storage/memory.ts";
import { tempDir } from "./temp.ts";

export const SMALL_CHUNKS: Partial<ChunkerParams> = { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 };

export async function memoryRepo(
  chunker: Partial<ChunkerParams> = SMALL_CHUNKS,
  backend: Backend = createMemoryBackend(),
): Promise<RepositoryImpl> {
  return initRepository(backend, "pw", {
    scrypt: { N: 1024, r: 8, p: 1 },
    workers: 0,
    chunker,
    packSize: 1024 * 1024,
  });
}

/**
 * A fresh temporary folder and in-memory repository for each test of the file (made before each,
 * closed and removed after each): `fx.tmp.path`, `fx.repo`.
 */
export function useMemoryRepo(): { readonly tmp: ReturnType<typeof tempDir>; readonly repo: RepositoryImpl } {
  const fx = {} as { tmp: ReturnType<typeof tempDir>; repo: RepositoryImpl };
  beforeEach(async () => {
    fx.tmp = tempDir();
    fx.repo = await memoryRepo();
  });
  afterEach(async () => {
    await fx.repo.close();
    fx.tmp.cleanup();
  });
  return fx;
}

/** Counts what the archiver or restorer asks of the repository (blobs saved, blobs read), delegating to `repo`. */
export function spyRepo<R extends Repository>(repo: R): R & { addedData: number; loadedBlobs: number } {
  const stats = { addedData: 0, loadedBlobs: 0 };
  return new Proxy(repo, {
    get(target, prop, receiver) {
      if (prop === "addedData" || prop === "loadedBlobs") return stats[prop];
      if (prop === "saveBlob") {
        return async (...args: Parameters<Repository["saveBlob"]>) => {
          const r = await target.saveBlob(...args);
          if (r.added && args[0] === "data") stats.addedData++;
          return r;
        };
      }
      if (prop === "openStoredBlob" && "openStoredBlob" in target) {
        // Batched reads (restore) open each blob they read through here.
        const open = (target.openStoredBlob as (...a: unknown[]) => unknown).bind(target);
        return (...args: unknown[]) => {
          stats.loadedBlobs++;
          return open(...args);
        };
      }
      if (prop === "loadBlob") {
        return (...args: Parameters<Repository["loadBlob"]>) => {
          stats.loadedBlobs++;
          return target.loadBlob(...args);
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  }) as R & { addedData: number; loadedBlobs: number };
}
