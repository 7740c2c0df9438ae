import crypto, { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import type S3rver from "s3rver";

export interface TestS3 {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  /** A fresh, empty bucket created for this server. */
  bucket: string;
  accessKeyId: "S3RVER";
  secretAccessKey: "S3RVER";
  region: string;
  /** Creates another bucket (see uniqueBucketName). */
  createBucket(name: string): Promise<void>;
  /** Closes the server, drops open connections and removes its folder. Safe to call twice. */
  stop(): Promise<void>;
}

let counter = 0;
let desPatched = false;

/** s3rver's folder walk, but in sorted order as Node's readdir (libuv) gives and S3 promises. */
function* sortedWalk(dir: string, recurseFilter?: (path: string) => boolean): Generator<string> {
  for (const name of readdirSync(dir).sort()) {
    const path = posix.join(dir, name);
    if (!statSync(path).isDirectory()) yield path;
    else if (!recurseFilter || recurseFilter(path)) yield* sortedWalk(path, recurseFilter);
  }
}

/**
 * s3rver pages listings by skipping keys up to the last one returned, assuming its folder walk is
 * sorted; Bun's readdir is not, so pages overlapped. Replace the walk before s3rver's store
 * module captures it. Then load s3rver itself.
 */
function loadS3rver(): typeof S3rver {
  const require = createRequire(import.meta.url);
  const utils = require("s3rver/lib/utils.js") as { walk: unknown };
  utils.walk = sortedWalk;
  patchDesAlias();
  return require("s3rver") as typeof S3rver;
}

/**
 * s3rver encrypts ListObjectsV2 continuation tokens with the cipher named "des", an alias Bun's
 * crypto lacks (it has "des-cbc", the same cipher) — so every second page answered 500. Map the
 * alias, once, for this process; nothing else here uses DES.
 */
function patchDesAlias(): void {
  if (desPatched) return;
  desPatched = true;
  const alias = (name: string) => (name === "des" ? "des-cbc" : name);
  const cipher = crypto.createCipheriv.bind(crypto);
  const decipher = crypto.createDecipheriv.bind(crypto);
  const c = crypto as unknown as Record<string, unknown>;
  c.createCipheriv = (name: string, ...rest: unknown[]) =>
    (cipher as (...a: unknown[]) => unknown)(alias(name), ...rest);
  c.createDecipheriv = (name: string, ...rest: unknown[]) =>
    (decipher as (...a: unknown[]) => unknown)(alias(name), ...rest);
}

/** A bucket name unique within this process and across processes: lowercase, 3–63 chars. */
export function uniqueBucketName(prefix = "test"): string {
  counter += 1;
  const clean = prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .slice(0, 40);
  return `${clean}-${counter}-${randomBytes(4).toString("hex")}`;
}

/**
 * Starts s3rver in-process (it runs on Bun, including under vitest's thread pool) on a random
 * loopback port with its own temp folder, silent, with one fresh bucket. s3rver checks access
 * key ids (unknown → InvalidAccessKeyId) but not SigV4 signatures, so a wrong secret is accepted.
 * With `tls` (PEM key and certificate, e.g. from selfSignedCert) it serves https.
 */
export async function startS3rver(tls?: { key: string; cert: string }): Promise<TestS3> {
  const S3rverServer = loadS3rver();
  const directory = mkdtempSync(join(tmpdir(), "backapp-s3rver-"));
  const server = new S3rverServer({ address: "127.0.0.1", port: 0, silent: true, directory, ...tls });
  const { port } = await server.run();
  const endpoint = `${tls ? "https" : "http"}://127.0.0.1:${port}`;
  const region = "us-east-1";
  const client = new S3Client({
    endpoint,
    region,
    forcePathStyle: true,
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    ...(tls ? { requestHandler: { httpsAgent: { ca: tls.cert } } } : {}),
  });
  const createBucket = async (name: string) => {
    await client.send(new CreateBucketCommand({ Bucket: name }));
  };
  const bucket = uniqueBucketName("bucket");
  await createBucket(bucket);
  let stopped = false;
  return {
    endpoint,
    bucket,
    accessKeyId: "S3RVER",
    secretAccessKey: "S3RVER",
    region,
    createBucket,
    async stop() {
      if (stopped) return;
      stopped = true;
      client.destroy();
      // Keep-alive sockets from clients under test would hold close() open forever.
      server.httpServer?.closeAllConnections?.();
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
