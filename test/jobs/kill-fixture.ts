/**
 * A data dir for tests that SIGKILL a real server process in the middle of work on an S3
 * destination: an admin with an API token, a destination whose endpoint is a gate proxy in front
 * of s3rver (so a test can hold a chosen request and kill the server while it waits), and a job
 * keeping one snapshot. Plus the few API calls and checks those tests share.
 */

import { join } from "node:path";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { afterAll, afterEach, expect } from "vitest";
import { createApiToken } from "../../src/auth/api-tokens.ts";
import { insertConfigRecord } from "../../src/db/backup-configs.ts";
import { openDatabase } from "../../src/db/client.ts";
import { insertDestination } from "../../src/db/destinations.ts";
import { initSpecRepository, type RepositoryTargetSpec } from "../../src/jobs/repository-access.ts";
import { setRunSetting } from "../../src/jobs/run-settings.ts";
import { systemClock } from "../../src/util/clock.ts";
import { newId } from "../../src/util/ids.ts";
import { Secret } from "../../src/util/secret.ts";
import { runProcess } from "../helpers/cli.ts";
import { startGateProxy } from "../helpers/gate-proxy.ts";
import { seedUser } from "../helpers/job-rows.ts";
import { startS3rver, type TestS3 } from "../helpers/s3rver.ts";
import { spawnServerWithUrl, waitForRow } from "../helpers/server-process.ts";
import { tempDir } from "../helpers/temp.ts";
import { jobInput, PASSWORD } from "./run-fixture.ts";

export interface KillWorld {
  dataDir: string;
  dbPath: string;
  destinationId: string;
  jobId: string;
  token: string;
  prefix: string;
}

/**
 * Registers hooks (call at file level) that kill the servers `serve()` started after each test,
 * and stop the s3rver, proxy and folder `world()` made after the file.
 */
export function useKillHarness() {
  const cleanups: (() => Promise<void> | void)[] = [];
  const worldCleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  // A world may be shared by the tests of a file (made in beforeAll).
  afterAll(async () => {
    for (const c of worldCleanups.splice(0).reverse()) await c();
  });
  return {
    /** s3rver, a gate proxy in front of it, and a temporary folder. */
    async world(name: string) {
      const s3 = await startS3rver();
      worldCleanups.push(() => s3.stop());
      const proxy = await startGateProxy(s3.endpoint);
      worldCleanups.push(() => proxy.stop());
      const dir = tempDir(`backapp-kill-${name}-`);
      worldCleanups.push(() => dir.cleanup());
      return { s3, proxy, root: dir.path };
    },
    /** A real server process on `dataDir`, SIGKILLed at the end of the test if still running. */
    async serve(dataDir: string) {
      const server = await spawnServerWithUrl(dataDir);
      cleanups.push(async () => {
        server.proc.kill("SIGKILL");
        await server.proc.exited;
      });
      return server;
    },
  };
}

/** The repository under `prefix`, straight on s3rver (not through the proxy). */
export function directSpec(s3: TestS3, prefix: string): RepositoryTargetSpec {
  const { endpoint, region, accessKeyId, secretAccessKey } = s3;
  return {
    address: `s3://${s3.bucket}/${prefix}`,
    s3: { endpoint, region, accessKeyId, secretAccessKey },
    password: PASSWORD,
  };
}

/** Seeds `root`/data: the repository is created straight on s3rver, the destination goes through `endpoint`. */
export async function seedS3Job(
  root: string,
  s3: TestS3,
  endpoint: string,
  sources: string[],
  options: { pruneEveryMs?: number } = {},
): Promise<KillWorld> {
  const prefix = `kill-${newId().slice(0, 8)}`;
  const repo = await initSpecRepository(directSpec(s3, prefix), { scrypt: { N: 1024, r: 8, p: 1 } });
  const repositoryId = repo.id;
  await repo.close();
  const dataDir = join(root, "data");
  const database = openDatabase(dataDir);
  const user = seedUser(database.db, undefined, "admin");
  const destinationId = newId();
  insertDestination(database.db, dataDir, {
    id: destinationId,
    userId: user.id,
    name: "bucket",
    settings: {
      kind: "s3",
      bucket: s3.bucket,
      prefix,
      region: s3.region,
      endpoint,
      accessKeyId: s3.accessKeyId,
      storageClass: null,
      caCertificate: null,
      encrypted: true,
    },
    secrets: { password: new Secret(PASSWORD), secretAccessKey: new Secret(s3.secretAccessKey) },
    repositoryId,
    now: Date.now(),
  });
  const jobId = newId();
  const input = jobInput(destinationId, sources);
  input.options.retention = { keepLast: 1 };
  insertConfigRecord(database.db, jobId, user.id, input, Date.now());
  if (options.pruneEveryMs !== undefined)
    setRunSetting(database.db, "pruneEveryMs", options.pruneEveryMs, Date.now());
  const { token } = createApiToken({ db: database.db, clock: systemClock }, user.id, "kill test");
  database.close();
  return { dataDir, dbPath: join(dataDir, "backapp.db"), destinationId, jobId, token, prefix };
}

/** A JSON API call with the world's token; the parsed answer (throws on a non-2xx status). */
export async function api<T>(
  url: string,
  w: KillWorld,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const res = await fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${w.token}`, "content-type": "application/json" },
    body: body === undefined ? null : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

/** Starts the job through the API (the web's Run now); resolves with the run's id. */
export async function runNow(url: string, w: KillWorld): Promise<string> {
  return (await api<{ logId: string }>(url, w, "POST", `/api/backups/execute/${w.jobId}`)).logId;
}

/** Starts a restore of the latest snapshot into `target` through the API; resolves with its id. */
export async function restoreNow(url: string, w: KillWorld, target: string): Promise<string> {
  const body = {
    destinationId: w.destinationId,
    snapshotId: "latest",
    paths: [],
    target,
    existing: "overwrite",
  };
  return (await api<{ restoreId: string }>(url, w, "POST", "/api/restores", body)).restoreId;
}

/** Waits until run `id` ended; resolves with its status and reason. */
export function ended(w: KillWorld, id: string) {
  return waitForRow<{ status: string; reason: string | null }>(
    w.dbPath,
    `select status, reason from backup_logs where id = '${id}' and status not in ('queued', 'running')`,
    120_000,
  );
}

/** Object names under the repository's locks/ in the bucket (read straight from s3rver). */
export async function locksIn(s3: TestS3, w: KillWorld): Promise<string[]> {
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
  try {
    const out = await client.send(
      new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${w.prefix}/locks/` }),
    );
    return (out.Contents ?? []).map((o) => o.Key ?? "");
  } finally {
    client.destroy();
  }
}

/** `backapp check --read-data` on the repository, straight on s3rver: it must find nothing. */
export async function expectCheckPasses(s3: TestS3, w: KillWorld): Promise<void> {
  const env = {
    BACKAPP_REPO: `s3://${s3.bucket}/${w.prefix}`,
    BACKAPP_PASSWORD: PASSWORD,
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    AWS_ENDPOINT_URL: s3.endpoint,
    AWS_REGION: s3.region,
  };
  const check = await runProcess(["check", "--read-data"], { env, timeoutMs: 120_000 });
  expect(check.stdout).toContain("no errors were found");
  expect(check.code).toBe(0);
}
