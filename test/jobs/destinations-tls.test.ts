/**
 * S3 stores behind a private CA: a destination's own CA certificate, or AWS_CA_BUNDLE (read by
 * src/config and passed down), lets backapp create and open the repository over https; without
 * either the certificate is refused with a clear form error. Against an https s3rver.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FieldError } from "../../src/auth/errors.ts";
import { readAwsCaBundle } from "../../src/config/index.ts";
import { openDatabase } from "../../src/db/client.ts";
import { insertUser } from "../../src/db/users.ts";
import { destinationInputSchema } from "../../src/jobs/destination-schema.ts";
import { createDestination } from "../../src/jobs/destinations.ts";
import { openSpecRepository, repositoryTargetSpec } from "../../src/jobs/repository-access.ts";
import { createManualClock } from "../../src/util/clock.ts";
import { ValidationError } from "../../src/util/errors.ts";
import { startS3rver, type TestS3 } from "../helpers/s3rver.ts";
import { tempDir } from "../helpers/temp.ts";
import { selfSignedCert } from "../helpers/tls.ts";

describe("AWS_CA_BUNDLE", () => {
  it("is read by src/config as the file's text, naming the variable when unreadable", () => {
    const dir = tempDir("backapp-ca-");
    const file = join(dir.path, "bundle.pem");
    writeFileSync(file, "PEM TEXT");
    expect(readAwsCaBundle({ AWS_CA_BUNDLE: file })).toBe("PEM TEXT");
    expect(readAwsCaBundle({})).toBeUndefined();
    expect(readAwsCaBundle({ AWS_CA_BUNDLE: "" })).toBeUndefined();
    expect(() => readAwsCaBundle({ AWS_CA_BUNDLE: join(dir.path, "missing.pem") })).toThrow(ValidationError);
    expect(() => readAwsCaBundle({ AWS_CA_BUNDLE: join(dir.path, "missing.pem") })).toThrow(
      /AWS_CA_BUNDLE: cannot read/,
    );
    dir.cleanup();
  });
});

describe("destinations over https with a private CA", () => {
  const tls = selfSignedCert();
  const dir = tempDir("backapp-tls-dest-");
  const database = openDatabase(dir.path);
  const clock = createManualClock(Date.parse("2026-01-01T00:00:00Z"));
  let s3: TestS3;
  let admin: { id: string; role: "admin"; allowedRoots: string[] };
  beforeAll(async () => {
    s3 = await startS3rver(tls);
    const row = insertUser(database.db, {
      email: "ca@example.com",
      name: "CA",
      passwordHash: "x",
      role: "admin",
    });
    admin = { id: row.id, role: "admin", allowedRoots: [] };
  });
  afterAll(async () => {
    await s3.stop();
    database.close();
    dir.cleanup();
  });

  const input = (name: string, prefix: string, ca?: string) =>
    destinationInputSchema.parse({
      type: "s3",
      name,
      bucket: s3.bucket,
      prefix,
      endpoint: s3.endpoint,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
      ...(ca ? { caCertificate: ca } : {}),
    });

  it("refuses the store's certificate without a CA, with a form error", async () => {
    const deps = { db: database.db, dataDir: dir.path, clock, caBundlePem: null };
    const err = await createDestination(deps, admin, input("no ca", "none"), {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FieldError);
    expect((err as FieldError).fields.form).toMatch(/certificate|self[- ]signed|TLS|SSL/i);
  });

  it("works with the destination's own CA certificate, and jobs open it through the spec", async () => {
    const deps = { db: database.db, dataDir: dir.path, clock, caBundlePem: null };
    const made = await createDestination(deps, admin, input("own ca", "own", tls.cert), {});
    expect(made.repository.created).toBe(true);
    const spec = repositoryTargetSpec(deps, made.row.id);
    expect(spec.s3.caPem).toBe(tls.cert.trim());
    const repo = await openSpecRepository(spec, { lock: "none", workers: 0 });
    expect(repo.id).toBe(made.row.repositoryId);
    await repo.close();
  });

  it("works with AWS_CA_BUNDLE's text passed down instead", async () => {
    const deps = { db: database.db, dataDir: dir.path, clock, caBundlePem: tls.cert };
    const made = await createDestination(deps, admin, input("bundle", "bundle"), {});
    expect(made.repository.created).toBe(true);
    const repo = await openSpecRepository(repositoryTargetSpec(deps, made.row.id), {
      lock: "none",
      workers: 0,
    });
    await repo.close();
  });
});
