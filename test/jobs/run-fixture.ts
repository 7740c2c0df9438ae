/**
 * A world for runner tests: a real SQLite file, real repositories (a local folder, or s3rver),
 * destinations and jobs stored through DEST's and CONFIGS' query modules, and a JobService whose
 * runs are real child processes (`bun src/main.ts __run`).
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterEach } from "vitest";
import { type BackupConfigInput, insertConfigRecord } from "../../src/db/backup-configs.ts";
import { findLog } from "../../src/db/backup-logs.ts";
import { openDatabase } from "../../src/db/client.ts";
import { insertDestination, type StoredSettings } from "../../src/db/destinations.ts";
import { createEventBus } from "../../src/events/bus.ts";
import type { BusEvent } from "../../src/events/types.ts";
import { initSpecRepository, type RepositoryTargetSpec } from "../../src/jobs/repository-access.ts";
import { createJobService, type JobService } from "../../src/jobs/service.ts";
import { type Clock, systemClock } from "../../src/util/clock.ts";
import { newId } from "../../src/util/ids.ts";
import { createLogger } from "../../src/util/logger.ts";
import { Secret } from "../../src/util/secret.ts";
import { build, file } from "../helpers/fs-tree.ts";
import { seedUser } from "../helpers/job-rows.ts";
import type { TestS3 } from "../helpers/s3rver.ts";
import { tempDir } from "../helpers/temp.ts";

export const PASSWORD = "correct horse battery staple";

export interface JobWorld {
  db: ReturnType<typeof openDatabase>["db"];
  dataDir: string;
  root: string;
  userId: string;
  bus: ReturnType<typeof createEventBus>;
  service: JobService;
  logs: Record<string, unknown>[];
  /** A new local repository folder and its destination; returns the destination id and spec. */
  localDestination(name?: string): Promise<{ id: string; spec: RepositoryTargetSpec }>;
  s3Destination(s3: TestS3, prefix: string): Promise<{ id: string; spec: RepositoryTargetSpec }>;
  /** A second destination onto an existing repository (same repository id). */
  attachDestination(spec: RepositoryTargetSpec, repositoryId: string): string;
  job(destinationId: string, paths: string[], extra?: Partial<BackupConfigInput>): string;
  /** Resolves with the run.finished event of `logId`. */
  finished(logId: string, timeoutMs?: number): Promise<Extract<BusEvent, { type: "run.finished" }>>;
  close(): Promise<void>;
}

export function jobInput(destinationId: string, paths: string[], extra: Partial<BackupConfigInput> = {}) {
  return {
    name: `job-${newId().slice(0, 6)}`,
    enabled: true,
    sources: paths.map((path) => ({ path, includePatterns: [], excludePatterns: [] })),
    destinationId,
    schedule: { cronExpression: "", timezone: "UTC" },
    options: {
      type: "incremental" as const,
      compression: true,
      compressionLevel: 3,
      retentionDays: null,
      retention: {},
      bandwidth: null,
    },
    hooks: {},
    ...extra,
  } satisfies BackupConfigInput;
}

export async function createJobWorld(
  options: { clock?: Clock; dataDir?: string; start?: boolean } = {},
): Promise<JobWorld> {
  const dir = tempDir("backapp-jobs-");
  const dataDir = options.dataDir ?? join(dir.path, "data");
  const database = openDatabase(dataDir);
  const db = database.db;
  const clock = options.clock ?? systemClock;
  const user = seedUser(db, undefined, "admin");
  const bus = createEventBus();
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger("info", { write: (l: string) => void logs.push(JSON.parse(l)) });
  const service = createJobService({ db, clock, bus, logger, dataDir });
  const watch = bus.subscribe({ maxQueue: 10_000 });
  const ended = new Map<string, Extract<BusEvent, { type: "run.finished" }>>();
  const waiters = new Map<string, (e: Extract<BusEvent, { type: "run.finished" }>) => void>();
  void (async () => {
    for (let e = await watch.next(); e; e = await watch.next()) {
      if (e.type !== "run.finished" || !e.logId) continue;
      ended.set(e.logId, e);
      waiters.get(e.logId)?.(e);
    }
  })();

  const addDestination = (
    spec: RepositoryTargetSpec,
    settings: StoredSettings,
    repositoryId: string,
    name: string,
  ) => {
    const id = newId();
    insertDestination(db, dataDir, {
      id,
      userId: user.id,
      name,
      settings,
      secrets: {
        password: new Secret(spec.password),
        secretAccessKey: spec.s3.secretAccessKey ? new Secret(spec.s3.secretAccessKey) : null,
      },
      repositoryId,
      now: clock.now(),
    });
    return id;
  };
  const init = async (spec: RepositoryTargetSpec) => {
    const repo = await initSpecRepository(spec, { scrypt: { N: 1024, r: 8, p: 1 } });
    const repositoryId = repo.id;
    await repo.close();
    return repositoryId;
  };

  const world: JobWorld = {
    db,
    dataDir,
    root: dir.path,
    userId: user.id,
    bus,
    service,
    logs,
    async localDestination(name = "local") {
      const path = join(dir.path, `repo-${newId().slice(0, 8)}`);
      const spec: RepositoryTargetSpec = { address: path, s3: {}, password: PASSWORD };
      const id = addDestination(spec, { kind: "local", path, encrypted: true }, await init(spec), name);
      return { id, spec };
    },
    async s3Destination(s3, prefix) {
      const spec: RepositoryTargetSpec = {
        address: `s3://${s3.bucket}/${prefix}`,
        s3: {
          endpoint: s3.endpoint,
          region: s3.region,
          accessKeyId: s3.accessKeyId,
          secretAccessKey: s3.secretAccessKey,
        },
        password: PASSWORD,
      };
      const settings: StoredSettings = {
        kind: "s3",
        bucket: s3.bucket,
        prefix,
        region: s3.region,
        endpoint: s3.endpoint,
        accessKeyId: s3.accessKeyId,
        storageClass: null,
        caCertificate: null,
        encrypted: true,
      };
      return { id: addDestination(spec, settings, await init(spec), "s3"), spec };
    },
    attachDestination(spec, repositoryId) {
      const settings: StoredSettings = { kind: "local", path: spec.address, encrypted: true };
      return addDestination(spec, settings, repositoryId, "attached");
    },
    job(destinationId, paths, extra = {}) {
      const id = newId();
      insertConfigRecord(db, id, user.id, jobInput(destinationId, paths, extra), clock.now());
      return id;
    },
    finished(logId, timeoutMs = 120_000) {
      const done = ended.get(logId);
      if (done) return Promise.resolve(done);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`run ${logId} did not finish: ${JSON.stringify(findLog(db, logId))}`)),
          timeoutMs,
        );
        waiters.set(logId, (e) => {
          clearTimeout(timer);
          resolve(e);
        });
      });
    },
    async close() {
      await service.stop({ drainMs: 5000 });
      bus.close();
      database.close();
      dir.cleanup();
    },
  };
  if (options.start !== false) service.start();
  return world;
}

/** Registers an afterEach that closes the worlds made by the returned factory (call at file level). */
export function useJobWorlds(): (options?: Parameters<typeof createJobWorld>[0]) => Promise<JobWorld> {
  const worlds: JobWorld[] = [];
  afterEach(async () => {
    for (const w of worlds.splice(0)) await w.close();
  });
  return async (options) => {
    const w = await createJobWorld(options);
    worlds.push(w);
    return w;
  };
}

/**
 * A data dir under `root` holding an admin, a local destination (a real repository) and a job that
 * backs up 4 MiB at 32 KiB/s every 2 seconds: minutes per run, so a test can stop the server
 * mid-run. The database is closed again, ready for a real server process.
 */
export async function seedSlowLocalJob(root: string) {
  const dataDir = join(root, "data");
  const src = join(root, "src");
  build(src, { "big.bin": file(randomBytes(4 * 1024 * 1024)) });
  const address = join(root, "repo");
  const repo = await initSpecRepository(
    { address, s3: {}, password: PASSWORD },
    { scrypt: { N: 1024, r: 8, p: 1 } },
  );
  const repositoryId = repo.id;
  await repo.close();
  const database = openDatabase(dataDir);
  const user = seedUser(database.db, undefined, "admin");
  const destinationId = newId();
  insertDestination(database.db, dataDir, {
    id: destinationId,
    userId: user.id,
    name: "disk",
    settings: { kind: "local", path: address, encrypted: true },
    secrets: { password: new Secret(PASSWORD), secretAccessKey: null },
    repositoryId,
    now: Date.now(),
  });
  const jobId = newId();
  const slow = jobInput(destinationId, [src], {
    schedule: { cronExpression: "*/2 * * * * *", timezone: "UTC" },
  });
  slow.options.bandwidth = 32; // KiB/s
  insertConfigRecord(database.db, jobId, user.id, slow, Date.now());
  database.close();
  return { dataDir, src, address, destinationId, jobId, slow };
}
