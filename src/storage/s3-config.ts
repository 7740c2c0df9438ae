/** The S3 client's settings and the location text of an S3 backend, apart from the backend itself. */
import type { S3ClientConfig } from "@aws-sdk/client-s3";
import type { S3BackendOptions } from "./s3.ts";

export function clientConfig(opts: S3BackendOptions): S3ClientConfig {
  const config: S3ClientConfig = {
    region: opts.region ?? "us-east-1",
    // Many S3-compatible servers reject the SDK's default flexible checksums.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    // Retrying is the job of the withRetry wrapper, which sees every backend alike.
    maxAttempts: 1,
    requestHandler: {
      connectionTimeout: 10_000,
      socketTimeout: 120_000,
      // A private CA (self-hosted MinIO, Garage, ...) or AWS_CA_BUNDLE, passed down by the caller.
      ...(opts.caPem ? { httpsAgent: { ca: opts.caPem, keepAlive: true } } : {}),
    },
  };
  if (opts.endpoint) {
    config.endpoint = opts.endpoint;
    config.forcePathStyle = true;
  }
  if (opts.accessKeyId && opts.secretAccessKey) {
    config.credentials = {
      accessKeyId: opts.accessKeyId,
      secretAccessKey: opts.secretAccessKey,
      ...(opts.sessionToken ? { sessionToken: opts.sessionToken } : {}),
    };
  }
  return config;
}

/** A key prefix without leading or trailing "/" ("" for the bucket root). */
export function trimPrefix(prefix: string): string {
  return prefix.replace(/^\/+|\/+$/g, "");
}

/** The location text of the backend `opts` describe (S3Backend and LazyS3Backend alike). */
export function locationOf(opts: S3BackendOptions): string {
  return describeLocation(opts.bucket, trimPrefix(opts.prefix), opts.endpoint);
}

function describeLocation(bucket: string, prefix: string, endpoint?: string): string {
  let host = "";
  if (endpoint) {
    try {
      host = ` at ${new URL(endpoint).host}`; // host only: a URL could carry user:password@
    } catch {
      host = " at a custom endpoint";
    }
  }
  return `s3://${bucket}${prefix ? `/${prefix}` : ""}${host}`;
}
