/**
 * S3 options a destination carries: a storage class (applied to packs only, so config, keys,
 * index and snapshots stay readable at once) and a private CA certificate for an https endpoint.
 */
import { HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openBackend } from "../../src/storage/open.ts";
import { createS3Backend } from "../../src/storage/s3.ts";
import { PermanentStorageError } from "../../src/util/errors.ts";
import { startS3rver, type TestS3 } from "../helpers/s3rver.ts";
import { selfSignedCert } from "../helpers/tls.ts";

const bytes = new TextEncoder().encode("probe");

async function storageClassOf(s3: TestS3, key: string, ca?: string): Promise<string | undefined> {
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    ...(ca ? { requestHandler: { httpsAgent: { ca } } } : {}),
  });
  try {
    return (await client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: key }))).StorageClass;
  } finally {
    client.destroy();
  }
}

describe("S3 storage class", () => {
  let s3: TestS3;
  beforeAll(async () => {
    s3 = await startS3rver();
  });
  afterAll(async () => {
    await s3.stop();
  });

  it("is set on data/ objects only, for small and streamed puts", async () => {
    const b = createS3Backend({
      ...s3,
      prefix: "sc",
      storageClass: "STANDARD_IA",
      partSize: 5 * 1024 * 1024,
    });
    await b.put("data/ab/ab01", bytes);
    await b.put("data/ab/ab02", new Blob([bytes]).stream());
    await b.put("config", bytes);
    await b.put("index/01", bytes);
    await b.close();
    expect(await storageClassOf(s3, "sc/data/ab/ab01")).toBe("STANDARD_IA");
    expect(await storageClassOf(s3, "sc/data/ab/ab02")).toBe("STANDARD_IA");
    expect(await storageClassOf(s3, "sc/config")).toBeUndefined();
    expect(await storageClassOf(s3, "sc/index/01")).toBeUndefined();
  });

  it("that the store refuses fails the pack upload permanently with the store's code", async () => {
    const b = openBackend(
      `s3://${s3.bucket}/bad`,
      { ...s3, storageClass: "NOT_A_CLASS" },
      { retry: { attempts: 1 } },
    );
    const err = await b.put("data/cd/cd01", bytes).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentStorageError);
    expect((err as Error).message).toContain("InvalidStorageClass");
    await b.put("config", bytes); // metadata objects never carry it
    await b.close();
  });
});

describe("S3 over https with a private CA", () => {
  const tls = selfSignedCert();
  let s3: TestS3;
  beforeAll(async () => {
    s3 = await startS3rver(tls);
  });
  afterAll(async () => {
    await s3.stop();
  });

  it("works when the CA certificate is given", async () => {
    expect(s3.endpoint).toMatch(/^https:/);
    const b = openBackend(`s3://${s3.bucket}/tls`, { ...s3, caPem: tls.cert });
    await b.put("data/ef/ef01", bytes);
    expect(new TextDecoder().decode(await b.get("data/ef/ef01"))).toBe("probe");
    await b.close();
  });

  it("refuses the unknown certificate without it", async () => {
    const b = openBackend(`s3://${s3.bucket}/tls`, s3, { retry: { attempts: 1 } });
    const err = await b.get("config").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/certificate|self[- ]signed|SSL|TLS/i);
    await b.close();
  });
});
