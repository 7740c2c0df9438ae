/**
 * Upkeep CLI tests: repositories made through `backapp init` and filled by the library archiver
 * (fixed snapshot times, so retention is predictable), opened directly for checks, and every
 * snapshot restored and compared with the tree it was taken from.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { backup } from "../../../src/engine/backup.ts";
import {
  type OpenOptions,
  openRepository,
  type RepositoryImpl,
} from "../../../src/engine/repository/index.ts";
import { restore } from "../../../src/engine/restore.ts";
import { openBackend } from "../../../src/storage/open.ts";
import { type CliResult, type RunOptions, runBackapp } from "../../helpers/cli.ts";
import { type Entry, listTree, treeDifferences } from "../../helpers/fs-tree.ts";
import type { TestS3 } from "../../helpers/s3rver.ts";

export const PASSWORD = "upkeep test passphrase";

export interface TestRepo {
  address: string;
  /** BACKAPP_REPO, BACKAPP_PASSWORD and (for S3) the AWS variables. */
  env: Record<string, string>;
}

export function localRepo(dir: string): TestRepo {
  const address = join(dir, "repo");
  return { address, env: { BACKAPP_REPO: address, BACKAPP_PASSWORD: PASSWORD } };
}

let s3Count = 0;
export function s3Repo(s3: TestS3): TestRepo {
  const address = `s3://${s3.bucket}/upkeep-${++s3Count}-${process.pid}`;
  return {
    address,
    env: {
      BACKAPP_REPO: address,
      BACKAPP_PASSWORD: PASSWORD,
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      AWS_ENDPOINT_URL: s3.endpoint,
      AWS_REGION: s3.region,
    },
  };
}

/** `backapp ARGS` against the repository (in-process unless options.process). */
export function backapp(repo: TestRepo, args: string[], options: RunOptions = {}): Promise<CliResult> {
  return runBackapp(args, { ...options, env: { ...repo.env, ...options.env } });
}

function writeTree(root: string, files: Record<string, string | Uint8Array>): void {
  for (const [rel, data] of Object.entries(files)) {
    const path = join(root, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, data);
  }
}

/** Deterministic incompressible bytes. */
export function randomBytesSeeded(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export function backendOf(repo: TestRepo) {
  return openBackend(repo.address, {
    endpoint: repo.env.AWS_ENDPOINT_URL,
    region: repo.env.AWS_REGION,
    accessKeyId: repo.env.AWS_ACCESS_KEY_ID,
    secretAccessKey: repo.env.AWS_SECRET_ACCESS_KEY,
  });
}

export function openLib(
  repo: TestRepo,
  options: OpenOptions = {},
  password = PASSWORD,
): Promise<RepositoryImpl> {
  return openRepository(backendOf(repo), password, { workers: 0, ...options });
}

/** The trees each snapshot was taken from, keyed by snapshot id. */
export type Taken = Map<string, Entry[]>;

/**
 * Takes `n` snapshots of `src`, one a day from 2026-01-01 noon UTC, changing the tree between them:
 * a stable file (deduplicated), a file rewritten each time, a file added per generation.
 */
export async function takeSnapshots(
  repo: TestRepo,
  src: string,
  n: number,
  options: { packSize?: number; size?: number } = {},
): Promise<Taken> {
  const size = options.size ?? 200_000;
  const taken: Taken = new Map();
  writeTree(src, { "stable.bin": randomBytesSeeded(size, 1), "dir/notes.txt": "notes\n".repeat(1000) });
  const r = await openLib(repo, { packSize: options.packSize });
  try {
    for (let g = 0; g < n; g++) {
      writeTree(src, {
        "changing.bin": randomBytesSeeded(size, 100 + g),
        [`dir/gen-${g}.bin`]: randomBytesSeeded(size / 4, 200 + g),
      });
      if (g >= 2) rmSync(join(src, `dir/gen-${g - 2}.bin`));
      const time = Date.UTC(2026, 0, 1 + g, 12);
      const result = await backup(r, [src], { now: () => time, hostname: "testhost" });
      taken.set(result.snapshot.id, listTree(src));
    }
  } finally {
    await r.close();
  }
  return taken;
}

/** Restores every snapshot left in the repository and compares it with what was backed up. */
export async function expectRestoresExactly(
  repo: TestRepo,
  src: string,
  taken: Taken,
  scratch: string,
): Promise<string[]> {
  const r = await openLib(repo);
  try {
    const ids: string[] = [];
    for (const s of await r.listSnapshots()) {
      const target = join(scratch, `restore-${s.id.slice(0, 8)}`);
      const summary = await restore(r, s, { target, verify: true });
      if (summary.errors.length > 0) throw new Error(`restore errors: ${JSON.stringify(summary.errors)}`);
      const expected = taken.get(s.id);
      if (!expected) throw new Error(`unknown snapshot ${s.id}`);
      const diffs = treeDifferences(expected, listTree(join(target, src)));
      if (diffs.length > 0)
        throw new Error(`snapshot ${s.id.slice(0, 8)} restored differently: ${diffs.join("; ")}`);
      ids.push(s.id);
    }
    return ids;
  } finally {
    await r.close();
  }
}

/** Sum of pack bytes in the repository. */
export async function packBytes(repo: TestRepo): Promise<number> {
  const b = backendOf(repo);
  let n = 0;
  try {
    for await (const o of b.list("data/")) n += o.size;
  } finally {
    await b.close();
  }
  return n;
}

export async function runJson<T>(repo: TestRepo, args: string[]): Promise<T> {
  const r = await backapp(repo, args);
  if (r.code !== 0) throw new Error(`backapp ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}
