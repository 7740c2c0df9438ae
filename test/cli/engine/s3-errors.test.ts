/**
 * S3 failures through the CLI, against a real s3rver: an unknown access key, a missing bucket, an
 * unreachable endpoint, no credentials at all and an endpoint that is not a URL each give one
 * line on stderr naming the problem, exit code 1, no stack trace, and never a secret.
 */
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startS3rver, type TestS3 } from "../../helpers/s3rver.ts";
import { backapp, PASSWORD, s3Repo, type TestRepo } from "./fixtures.ts";

let s3: TestS3;
let repo: TestRepo;
beforeAll(async () => {
  s3 = await startS3rver();
  repo = s3Repo(s3);
  expect((await backapp(repo, ["init"])).code).toBe(0);
});
afterAll(async () => {
  await s3.stop();
});

/** A loopback port nothing listens on (taken, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const SECRET = "a-very-secret-value-0123456789";

function expectOneLineError(r: { code: number; stdout: string; stderr: string }, message: RegExp) {
  expect(r.code).toBe(1);
  expect(r.stdout).toBe("");
  expect(r.stderr.split("\n")).toHaveLength(2); // one line and its newline
  expect(r.stderr).toMatch(/^backapp snapshots: /);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toMatch(/\n\s+at |Error:/);
  for (const secret of [SECRET, PASSWORD, s3.secretAccessKey]) expect(r.stderr).not.toContain(secret);
}

describe("S3 errors through the CLI", { timeout: 30_000 }, () => {
  it("an unknown access key is access denied, naming the bucket", async () => {
    const r = await backapp(repo, ["snapshots"], {
      env: { AWS_ACCESS_KEY_ID: "UNKNOWNKEY", AWS_SECRET_ACCESS_KEY: SECRET },
    });
    expectOneLineError(r, new RegExp(`access to bucket "${s3.bucket}" denied \\(InvalidAccessKeyId\\)`));
  });

  it("a missing bucket is named", async () => {
    const r = await backapp(repo, ["snapshots", "--repo", "s3://no-such-bucket-here/x"]);
    expectOneLineError(r, /bucket "no-such-bucket-here" does not exist/);
  });

  it("an unreachable endpoint fails after its retries", async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const r = await backapp(repo, ["snapshots", "--s3-endpoint", endpoint]);
    expectOneLineError(r, /connection failed: .*ECONNREFUSED.*\(gave up after \d+ attempts\)/);
  });

  it("no credentials at all is said plainly", async () => {
    const r = await backapp(repo, ["snapshots"], {
      env: {
        AWS_ACCESS_KEY_ID: undefined,
        AWS_SECRET_ACCESS_KEY: undefined,
        AWS_PROFILE: "backapp-test-no-such-profile",
        AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/credentials",
        AWS_CONFIG_FILE: "/nonexistent/config",
        AWS_EC2_METADATA_DISABLED: "true",
      },
    });
    expectOneLineError(r, /no S3 credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
  });

  it("an endpoint that is not a URL is refused at once", async () => {
    const r = await backapp(repo, ["snapshots", "--s3-endpoint", "not a url"]);
    expectOneLineError(r, /S3 endpoint "not a url" is not an http\(s\) URL/);
  });
});
