/**
 * The seam jobs use to reach a destination's repository: a spec built from the stored row
 * (secrets unsealed), opened with the right passphrase, refused clearly with a wrong one.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../src/db/client.ts";
import { findDestinationRow, insertDestination } from "../../src/db/destinations.ts";
import { insertUser } from "../../src/db/users.ts";
import {
  initSpecRepository,
  openSpecRepository,
  repositoryTargetSpec,
} from "../../src/jobs/repository-access.ts";
import { WrongPasswordError } from "../../src/util/errors.ts";
import { newId } from "../../src/util/ids.ts";
import { Secret } from "../../src/util/secret.ts";
import { startS3rver, type TestS3 } from "../helpers/s3rver.ts";
import { tempDir } from "../helpers/temp.ts";

const CHEAP = { scrypt: { N: 1024, r: 8, p: 1 }, workers: 0 };
const PASS = "correct horse battery staple 42";

describe("repository access by destination id", () => {
  const dir = tempDir("backapp-access-");
  const repoDir = tempDir("backapp-access-repo-");
  const database = openDatabase(dir.path);
  let s3: TestS3;
  let userId: string;
  beforeAll(async () => {
    s3 = await startS3rver();
    userId = insertUser(database.db, {
      email: "a@example.com",
      name: "A",
      passwordHash: "x",
      role: "admin",
    }).id;
  });
  afterAll(async () => {
    await s3.stop();
    database.close();
    dir.cleanup();
    repoDir.cleanup();
  });

  it("opens a local destination's repository with the stored passphrase", async () => {
    const id = newId();
    const settings = { kind: "local" as const, path: repoDir.path, encrypted: true };
    const repo = await initSpecRepository({ address: repoDir.path, s3: {}, password: PASS }, CHEAP);
    await repo.close();
    const secrets = { secretAccessKey: null, password: new Secret(PASS) };
    insertDestination(database.db, dir.path, {
      id,
      userId,
      name: "disk",
      settings,
      secrets,
      repositoryId: repo.id,
      now: 5,
    });
    expect(findDestinationRow(database.db, id)?.secretsEnc).not.toContain(PASS);
    const spec = repositoryTargetSpec({ db: database.db, dataDir: dir.path, caBundlePem: null }, id);
    expect(spec).toEqual({ address: repoDir.path, s3: {}, password: PASS });
    const opened = await openSpecRepository(spec, { lock: "none", workers: 0 });
    expect(opened.id).toBe(repo.id);
    await opened.close();
    const wrong = await openSpecRepository({ ...spec, password: "nope" }, { lock: "none" }).catch((e) => e);
    expect(wrong).toBeInstanceOf(WrongPasswordError);
    expect((wrong as Error).message).toContain("passphrase does not open the repository at");
    expect((wrong as Error).message).not.toContain("nope");
  });

  it("builds an s3 spec with the endpoint, sealed secret key, storage class and CA bundle", async () => {
    const id = newId();
    const settings = {
      kind: "s3" as const,
      bucket: s3.bucket,
      prefix: "team/repo",
      region: s3.region,
      endpoint: s3.endpoint,
      accessKeyId: s3.accessKeyId,
      storageClass: "STANDARD_IA",
      caCertificate: null,
      encrypted: true,
    };
    const secrets = { secretAccessKey: new Secret(s3.secretAccessKey), password: new Secret(PASS) };
    insertDestination(database.db, dir.path, {
      id,
      userId,
      name: "s3",
      settings,
      secrets,
      repositoryId: "r",
      now: 5,
    });
    const spec = repositoryTargetSpec({ db: database.db, dataDir: dir.path, caBundlePem: "PEM" }, id);
    expect(spec).toEqual({
      address: `s3://${s3.bucket}/team/repo`,
      s3: {
        endpoint: s3.endpoint,
        region: s3.region,
        accessKeyId: "S3RVER",
        secretAccessKey: "S3RVER",
        storageClass: "STANDARD_IA",
        caPem: "PEM",
      },
      password: PASS,
    });
    const created = await initSpecRepository({ ...spec, s3: { ...spec.s3, caPem: undefined } }, CHEAP);
    await created.close();
    const opened = await openSpecRepository(
      { ...spec, s3: { ...spec.s3, caPem: undefined } },
      { lock: "none", workers: 0 },
    );
    expect(opened.id).toBe(created.id);
    await opened.close();
  });

  it("says not found for an unknown destination id", () => {
    expect(() =>
      repositoryTargetSpec({ db: database.db, dataDir: dir.path, caBundlePem: null }, "nope"),
    ).toThrow(/not found/);
  });
});
