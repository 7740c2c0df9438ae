import { resolve } from "node:path";
import { ValidationError } from "../util/errors.ts";
import type { Backend } from "./backend.ts";
import { createLocalBackend } from "./local.ts";
import { type RetryOptions, withRetry } from "./retry.ts";
import { LazyS3Backend } from "./s3-lazy.ts";
import { withRateLimit } from "./throttle.ts";

export type RepositoryAddress =
  | { kind: "local"; path: string }
  | { kind: "s3"; bucket: string; prefix: string };

/** Connection settings for S3 addresses; the caller gathers them from config or the environment. */
export interface S3Settings {
  endpoint?: string;
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  /** Storage class for pack objects (data/), e.g. STANDARD_IA; metadata objects stay STANDARD. */
  storageClass?: string;
  /** PEM certificates to trust for an https endpoint (a private CA, or the AWS_CA_BUNDLE file's text). */
  caPem?: string;
}

export interface OpenBackendOptions {
  /** Upload limit in KiB/s (1 KiB = 1024 bytes), as `--limit-upload`. */
  limitUploadKbps?: number;
  /** Overrides for the retry wrapper (attempts, delays, onRetry for logging). */
  retry?: RetryOptions;
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** S3's bucket naming rules, minus the ones only AWS enforces for new buckets. */
function checkBucketName(bucket: string, address: string): void {
  const ok =
    BUCKET_NAME.test(bucket) &&
    !bucket.includes("..") &&
    !bucket.includes(".-") &&
    !bucket.includes("-.") &&
    !/^\d+\.\d+\.\d+\.\d+$/.test(bucket);
  if (!ok) {
    throw new ValidationError(
      `repository address ${JSON.stringify(address)}: "${bucket}" is not a valid bucket name (3–63 lowercase letters, digits, dots and hyphens)`,
    );
  }
}

/**
 * Parses a repository address: `s3://BUCKET[/PREFIX]` or a local folder path (optionally
 * `local:PATH`; relative paths resolve against the working directory). Anything else starting
 * with "s3:" is rejected with ValidationError rather than taken for a folder.
 */
export function parseRepositoryAddress(address: string): RepositoryAddress {
  const trimmed = address.trim();
  if (trimmed === "") throw new ValidationError("repository address is empty");
  if (/^s3:/i.test(trimmed)) {
    const match = /^s3:\/\/([^/]*)(?:\/(.*))?$/i.exec(trimmed);
    if (!match)
      throw new ValidationError(`repository address ${JSON.stringify(address)}: expected s3://BUCKET/PREFIX`);
    const bucket = match[1] ?? "";
    checkBucketName(bucket, address);
    const prefix = (match[2] ?? "").replace(/^\/+|\/+$/g, "");
    if (prefix.split("/").some((s) => s === "." || s === ".." || (prefix !== "" && s === ""))) {
      throw new ValidationError(`repository address ${JSON.stringify(address)}: bad prefix "${prefix}"`);
    }
    return { kind: "s3", bucket, prefix };
  }
  const path = trimmed.startsWith("local:") ? trimmed.slice("local:".length) : trimmed;
  if (path === "") throw new ValidationError("repository path is empty");
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) {
    throw new ValidationError(
      `repository address ${JSON.stringify(address)}: unsupported scheme (use s3:// or a path)`,
    );
  }
  return { kind: "local", path: resolve(path) };
}

/** A custom S3 endpoint must be an http(s) URL; anything else would only fail on every retry. */
function checkEndpoint(endpoint: string | undefined): void {
  if (endpoint === undefined || endpoint === "") return;
  let ok = false;
  try {
    const url = new URL(endpoint);
    ok = (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
  } catch {
    ok = false;
  }
  if (!ok) {
    throw new ValidationError(
      `S3 endpoint ${JSON.stringify(endpoint)} is not an http(s) URL (e.g. https://s3.example.com:9000)`,
    );
  }
}

/**
 * Opens the backend for an address, wrapped so transient failures are retried and, when asked,
 * uploads are rate-limited (the limit sits inside the retry, so each attempt is throttled).
 */
export function openBackend(
  address: string,
  s3Settings: S3Settings = {},
  options: OpenBackendOptions = {},
): Backend {
  const parsed = parseRepositoryAddress(address);
  if (parsed.kind === "s3") checkEndpoint(s3Settings.endpoint);
  let backend: Backend =
    parsed.kind === "local"
      ? createLocalBackend(parsed.path)
      : new LazyS3Backend({ bucket: parsed.bucket, prefix: parsed.prefix, ...s3Settings });
  const kbps = options.limitUploadKbps;
  if (kbps !== undefined) {
    if (!(Number.isFinite(kbps) && kbps > 0))
      throw new ValidationError(`upload limit must be positive, got ${kbps}`);
    backend = withRateLimit(backend, { bytesPerSecond: kbps * 1024 });
  }
  return withRetry(backend, options.retry);
}
