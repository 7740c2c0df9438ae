/**
 * The destination tests' world: the jobs tests' app world (admin, Alice with one allowed root,
 * Bob) plus an s3rver, started before and stopped after the file's tests; and an existing
 * repository with one snapshot in a fresh bucket, for attach tests.
 */
import { afterAll, beforeAll } from "vitest";
import { backup } from "../../src/engine/backup.ts";
import { initSpecRepository } from "../../src/jobs/repository-access.ts";
import { startS3rver, type TestS3, uniqueBucketName } from "../helpers/s3rver.ts";
import { createWorld, type World } from "./configs-fixture.ts";

export interface DestinationWorld {
  w: World;
  s3: TestS3;
}

/** Registers the hooks; the returned object is filled in before the first test runs. */
export function useDestinationWorld(): DestinationWorld {
  const world = {} as DestinationWorld;
  beforeAll(async () => {
    world.w = await createWorld();
    world.s3 = await startS3rver();
  });
  afterAll(async () => {
    await world.s3.stop();
    world.w.close();
  });
  return world;
}

/** A repository (cheap scrypt) made by the engine in a new bucket, holding one snapshot of `source`. */
export async function repositoryWithSnapshot(
  s3: TestS3,
  opts: { prefix: string; secretAccessKey: string; password: string; source: string },
) {
  const bucket = uniqueBucketName("attach");
  await s3.createBucket(bucket);
  const repo = await initSpecRepository(
    {
      address: `s3://${bucket}${opts.prefix ? `/${opts.prefix}` : ""}`,
      s3: {
        endpoint: s3.endpoint,
        region: s3.region,
        accessKeyId: s3.accessKeyId,
        secretAccessKey: opts.secretAccessKey,
      },
      password: opts.password,
    },
    { scrypt: { N: 1024, r: 8, p: 1 }, workers: 0 },
  );
  const made = await backup(repo, [opts.source]);
  await repo.close();
  return { bucket, repositoryId: repo.id, snapshotId: made.snapshot.id };
}
