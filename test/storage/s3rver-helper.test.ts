import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { startS3rver, uniqueBucketName } from "../helpers/s3rver.ts";

describe("test helper: startS3rver", () => {
  it("makes valid, distinct bucket names", () => {
    const names = new Set(Array.from({ length: 50 }, () => uniqueBucketName("Some_Test Name")));
    expect(names.size).toBe(50);
    for (const n of names) expect(n).toMatch(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/);
  });

  it("serves a fresh bucket on a loopback port and stops cleanly, even with open connections", async () => {
    const s3 = await startS3rver();
    expect(s3.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const client = new S3Client({
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    });
    await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: "k", Body: "v" }));
    const got = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: "k" }));
    expect(await got.Body?.transformToString()).toBe("v");
    await s3.stop(); // the client's keep-alive socket is still open
    await s3.stop();
    client.destroy();
  });
});
