import { randomBytes } from "node:crypto";
import type { OpenOptions } from "../../../src/engine/repository/open.ts";
import { initRepository, openRepository } from "../../../src/engine/repository/open.ts";
import type { RepositoryImpl } from "../../../src/engine/repository/repository.ts";
import type { SnapshotInput, SnapshotSummary } from "../../../src/engine/types.ts";
import type { Backend } from "../../../src/storage/backend.ts";
import { createLocalBackend } from "../../../src/storage/local.ts";
import { createMemoryBackend } from "../../../src/storage/memory.ts";
import { withRetry } from "../../../src/storage/retry.ts";
import { createS3Backend } from "../../../src/storage/s3.ts";
import { startS3rver } from "../../helpers/s3rver.ts";
import { tempDir } from "../../helpers/temp.ts";

/** Cheap scrypt so tests stay fast; the format stores the parameters, so this is still real. */
export const FAST_SCRYPT = { N: 1024, r: 8, p: 1 };

export function init(
  backend: Backend,
  password = "correct horse",
  opts: Parameters<typeof initRepository>[2] = {},
) {
  return initRepository(backend, password, { scrypt: FAST_SCRYPT, workers: 0, ownsBackend: false, ...opts });
}

export function open(
  backend: Backend,
  password = "correct horse",
  opts: OpenOptions = {},
): Promise<RepositoryImpl> {
  return openRepository(backend, password, { workers: 0, ownsBackend: false, ...opts });
}

export interface BackendCase {
  name: string;
  make(): Promise<{ backend: Backend; cleanup(): Promise<void> }>;
}

export const BACKENDS: BackendCase[] = [
  { name: "memory", make: async () => ({ backend: createMemoryBackend(), cleanup: async () => {} }) },
  {
    name: "local",
    make: async () => {
      const dir = tempDir();
      return { backend: createLocalBackend(dir.path), cleanup: async () => dir.cleanup() };
    },
  },
  {
    name: "s3",
    make: async () => {
      const s3 = await startS3rver();
      // The product always wraps S3 in withRetry (storage/open.ts); s3rver answers an occasional
      // 500 InternalError to concurrent deletes, which the wrapper retries as a real server's would be.
      const backend = withRetry(createS3Backend({ ...s3, prefix: "repo" }), { baseDelayMs: 20 });
      return {
        backend,
        cleanup: async () => {
          await backend.close();
          await s3.stop();
        },
      };
    },
  },
];

/** Mixed content: compressible text and random bytes. */
export function mixed(size: number, seed = 0): Uint8Array {
  const out = new Uint8Array(size);
  const half = Math.floor(size / 2);
  const text = new TextEncoder().encode(`line ${seed} of some fairly repetitive text for compression\n`);
  for (let i = 0; i < half; i++) out[i] = text[i % text.length]!;
  out.set(randomBytes(size - half), half);
  return out;
}

/** A summary of all zeros, for snapshots written by hand (a fresh object each call). */
export function emptySummary(): SnapshotSummary {
  return {
    files_new: 0,
    files_changed: 0,
    files_unmodified: 0,
    dirs: 0,
    bytes_processed: 0,
    bytes_added: 0,
    bytes_stored: 0,
    duration_ms: 0,
    errors: [],
  };
}

export function snapshotInput(tree: string, time = "2026-01-01T00:00:00.000Z"): SnapshotInput {
  return {
    time,
    hostname: "host",
    username: "user",
    paths: ["/src"],
    tags: [],
    parent: null,
    tree,
    program_version: "backapp test",
    summary: emptySummary(),
  };
}

export function flipByte(bytes: Uint8Array, at: number): void {
  bytes[at] = (bytes[at] ?? 0) ^ 0xff;
}
