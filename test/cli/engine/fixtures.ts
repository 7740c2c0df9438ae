/**
 * Shared pieces of the engine CLI tests: repositories on a local folder or s3rver addressed through
 * the environment exactly as a user would, source trees built from a compact description, a
 * byte-for-byte tree comparison (types, modes, mtimes, symlink targets), and raw access to the
 * stored objects for tampering and plaintext searches.
 */
import { createHash } from "node:crypto";
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { expect } from "vitest";
import type { Backend } from "../../../src/storage/backend.ts";
import { openBackend } from "../../../src/storage/open.ts";
import { type CliResult, type RunOptions, runBackapp } from "../../helpers/cli.ts";
import type { TestS3 } from "../../helpers/s3rver.ts";

export const PASSWORD = "correct horse battery staple";

export interface TestRepo {
  kind: "local" | "s3";
  address: string;
  /** BACKAPP_REPO, BACKAPP_PASSWORD and (for S3) the AWS variables. */
  env: Record<string, string>;
}

export function localRepo(dir: string): TestRepo {
  const address = join(dir, "repo");
  return { kind: "local", address, env: { BACKAPP_REPO: address, BACKAPP_PASSWORD: PASSWORD } };
}

let s3Count = 0;
export function s3Repo(s3: TestS3): TestRepo {
  s3Count++;
  const address = `s3://${s3.bucket}/repo-${s3Count}-${process.pid}`;
  return {
    kind: "s3",
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

/** Parses JSON lines; throws on any line that is not JSON. */
export function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

export interface Summary {
  type: "summary";
  snapshot_id: string;
  files_new: number;
  files_changed: number;
  files_unmodified: number;
  dirs: number;
  bytes_processed: number;
  bytes_added: number;
  bytes_stored: number;
  duration_ms: number;
  errors: { path: string; message: string }[];
}

export const SUMMARY_KEYS = [
  "type",
  "snapshot_id",
  "files_new",
  "files_changed",
  "files_unmodified",
  "dirs",
  "bytes_processed",
  "bytes_added",
  "bytes_stored",
  "duration_ms",
  "errors",
];

/** Runs `backup --json` and returns its summary line (the last line). */
export async function backupJson(repo: TestRepo, args: string[], options: RunOptions = {}) {
  const r = await backapp(repo, ["backup", "--json", ...args], options);
  const lines = r.stdout.trim() === "" ? [] : jsonLines(r.stdout);
  return { ...r, lines, summary: lines.at(-1) as unknown as Summary };
}

export type Entry =
  | string
  | Uint8Array
  | { symlink: string }
  | { dir: true; mode?: number }
  | { content: string | Uint8Array; mode?: number; mtime?: Date };

/** Builds files, folders and symlinks under `root` from relative paths. */
export function makeTree(root: string, entries: Record<string, Entry>): void {
  mkdirSync(root, { recursive: true });
  for (const [rel, entry] of Object.entries(entries)) {
    const path = join(root, rel);
    mkdirSync(dirname(path), { recursive: true });
    if (typeof entry === "string" || entry instanceof Uint8Array) writeFileSync(path, entry);
    else if ("symlink" in entry) symlinkSync(entry.symlink, path);
    else if ("dir" in entry) {
      mkdirSync(path, { recursive: true });
      if (entry.mode !== undefined) chmodSync(path, entry.mode);
    } else {
      writeFileSync(path, entry.content);
      if (entry.mode !== undefined) chmodSync(path, entry.mode);
      if (entry.mtime) utimesSync(path, entry.mtime, entry.mtime);
    }
  }
}

export interface Observed {
  type: "file" | "dir" | "symlink";
  mode: number;
  /** Modification time in nanoseconds. */
  mtimeNs: bigint;
  size: number;
  sha256?: string;
  target?: string;
}

/** Everything below `root` keyed by relative path (root itself is ""). */
export function observeTree(root: string): Map<string, Observed> {
  const out = new Map<string, Observed>();
  const visit = (rel: string) => {
    const path = rel === "" ? root : join(root, rel);
    const st = lstatSync(path, { bigint: true });
    const base = { mode: Number(st.mode & 0o7777n), mtimeNs: st.mtimeNs, size: Number(st.size) };
    if (st.isSymbolicLink()) out.set(rel, { ...base, type: "symlink", mode: 0, target: readlinkSync(path) });
    else if (st.isFile()) {
      const sha256 = createHash("sha256").update(readFileSync(path)).digest("hex");
      out.set(rel, { ...base, type: "file", sha256 });
    } else if (st.isDirectory()) {
      out.set(rel, { ...base, type: "dir", size: 0 });
      for (const name of readdirSync(path).sort()) visit(rel === "" ? name : `${rel}/${name}`);
    }
  };
  visit("");
  return out;
}

/**
 * Asserts that `restored` holds exactly what `source` holds: the same names, types, modes, sizes,
 * contents (SHA-256) and symlink targets, and the same mtimes to the nanosecond for files, folders
 * and symlinks (restore sets times through the C library on Linux and macOS; see times.ts).
 */
export function expectSameTree(restored: string, source: string): void {
  const got = observeTree(restored);
  const want = observeTree(source);
  const strip = (t: Map<string, Observed>) =>
    Object.fromEntries([...t].map(([k, v]) => [k, { ...v, mtimeNs: 0n }]));
  expect(strip(got)).toEqual(strip(want));
  const times = (t: Map<string, Observed>) => Object.fromEntries([...t].map(([k, v]) => [k, v.mtimeNs]));
  expect(times(got)).toEqual(times(want));
}

/** Runs `fn` on the repository's raw storage backend (for tampering and plaintext searches). */
async function withBackend<T>(repo: TestRepo, fn: (backend: Backend) => Promise<T>): Promise<T> {
  const backend = openBackend(repo.address, {
    endpoint: repo.env.AWS_ENDPOINT_URL,
    region: repo.env.AWS_REGION,
    accessKeyId: repo.env.AWS_ACCESS_KEY_ID,
    secretAccessKey: repo.env.AWS_SECRET_ACCESS_KEY,
  });
  try {
    return await fn(backend);
  } finally {
    await backend.close();
  }
}

/** Every stored object of the repository: name → bytes. */
export function repoObjects(repo: TestRepo): Promise<Map<string, Uint8Array>> {
  return withBackend(repo, async (backend) => {
    const out = new Map<string, Uint8Array>();
    for await (const o of backend.list("")) out.set(o.name, await backend.get(o.name));
    return out;
  });
}

/** Overwrites one stored object (to simulate bit rot or tampering). */
export function replaceObject(repo: TestRepo, name: string, data: Uint8Array): Promise<void> {
  return withBackend(repo, (backend) => backend.put(name, data));
}

/** Deletes one stored object (a lost pack or index file). */
export function deleteObject(repo: TestRepo, name: string): Promise<void> {
  return withBackend(repo, (backend) => backend.delete(name));
}

/** Deterministic pseudo-random bytes (incompressible, so sizes are predictable). */
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
