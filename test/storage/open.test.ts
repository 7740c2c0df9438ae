import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openBackend, parseRepositoryAddress } from "../../src/storage/open.ts";
import { ValidationError } from "../../src/util/errors.ts";
import { startS3rver, type TestS3 } from "../helpers/s3rver.ts";
import { tempDir } from "../helpers/temp.ts";

const enc = (s: string) => new TextEncoder().encode(s);

describe("parseRepositoryAddress", () => {
  it("parses s3 addresses with and without a prefix", () => {
    expect(parseRepositoryAddress("s3://my-bucket/backups/host1")).toEqual({
      kind: "s3",
      bucket: "my-bucket",
      prefix: "backups/host1",
    });
    expect(parseRepositoryAddress("s3://my.bucket")).toEqual({ kind: "s3", bucket: "my.bucket", prefix: "" });
    expect(parseRepositoryAddress("s3://abc/p/")).toEqual({ kind: "s3", bucket: "abc", prefix: "p" });
  });

  it("rejects bad bucket names and malformed s3 addresses", () => {
    for (const bad of [
      "s3://",
      "s3://ab/x",
      "s3://Upper/x",
      "s3://under_score",
      "s3://-start",
      "s3://a..b",
      "s3://192.168.1.1",
      `s3://${"a".repeat(64)}`,
      "s3:bucket/prefix",
      "s3://ok-bucket/a/../b",
      "s3://ok-bucket/a//b",
    ]) {
      expect(() => parseRepositoryAddress(bad), bad).toThrow(ValidationError);
    }
  });

  it("takes anything else for a folder, resolved to an absolute path", () => {
    expect(parseRepositoryAddress("/srv/backups")).toEqual({ kind: "local", path: "/srv/backups" });
    expect(parseRepositoryAddress("local:/srv/x")).toEqual({ kind: "local", path: "/srv/x" });
    expect(parseRepositoryAddress("repo")).toEqual({ kind: "local", path: resolve("repo") });
    for (const bad of ["", "   ", "local:", "https://example.com/x"]) {
      expect(() => parseRepositoryAddress(bad), bad).toThrow(ValidationError);
    }
  });
});

describe("openBackend", () => {
  let s3: TestS3;
  const dir = tempDir("backapp-open-");
  beforeAll(async () => {
    s3 = await startS3rver();
  });
  afterAll(async () => {
    await s3.stop();
    dir.cleanup();
  });

  it("opens a local folder, wrapped for retries and an upload limit", async () => {
    const b = openBackend(dir.path, {}, { limitUploadKbps: 100_000 });
    await b.put("config", enc("c"));
    expect(await b.get("config")).toEqual(enc("c"));
    expect(b.location).toBe(dir.path);
    await b.close();
  });

  it("opens an S3 prefix with the given settings, never showing credentials", async () => {
    const settings = {
      endpoint: s3.endpoint,
      region: s3.region,
      accessKeyId: "S3RVER",
      secretAccessKey: "S3RVER",
    };
    const b = openBackend(`s3://${s3.bucket}/repo`, settings, { retry: { attempts: 2 } });
    await b.put("config", enc("s3"));
    expect(await b.get("config")).toEqual(enc("s3"));
    expect(b.location).toMatch(new RegExp(`^s3://${s3.bucket}/repo`));
    expect(b.location).not.toContain("S3RVER");
    await b.close();
  });

  it("knows an S3 location at once and makes the client on first use; closing an unused one does nothing", async () => {
    // Nothing listens on this port: any request would fail, so a clean close proves none was made.
    const b = openBackend("s3://some-bucket/p/", {
      endpoint: "http://127.0.0.1:9",
      accessKeyId: "AK",
      secretAccessKey: "SK",
    });
    expect(b.location).toBe("s3://some-bucket/p at 127.0.0.1:9");
    await b.close();
    const c = openBackend(
      "s3://some-bucket/p",
      { endpoint: "http://127.0.0.1:9", accessKeyId: "AK", secretAccessKey: "SK" },
      { retry: { attempts: 1 } },
    );
    await expect(c.stat("config")).rejects.toThrow(/127\.0\.0\.1:9/);
    await c.close();
  });

  it("rejects a non-positive upload limit", () => {
    expect(() => openBackend(dir.path, {}, { limitUploadKbps: 0 })).toThrow(ValidationError);
    expect(() => openBackend(dir.path, {}, { limitUploadKbps: Number.NaN })).toThrow(ValidationError);
  });

  it("rejects an S3 endpoint that is not an http(s) URL, before any request", () => {
    for (const endpoint of ["notaurl", "ftp://host", "127.0.0.1:9000", "http://"]) {
      expect(() => openBackend("s3://bucket/p", { endpoint })).toThrow(
        `S3 endpoint ${JSON.stringify(endpoint)} is not an http(s) URL`,
      );
    }
    // A folder repository ignores S3 settings.
    expect(() => openBackend(dir.path, { endpoint: "notaurl" })).not.toThrow();
  });
});
