import {
  BackappError,
  CancelledError,
  NotFoundError,
  PermanentStorageError,
  TransientStorageError,
  wrapError,
} from "../util/errors.ts";

/** Error codes meaning the credentials or policy do not allow the call: retrying will not help. */
const DENIED = new Set([
  "AccessDenied",
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "ExpiredToken",
  "InvalidToken",
  "TokenRefreshRequired",
  "AllAccessDisabled",
  "AccountProblem",
  "InvalidSecurity",
  "CredentialsProviderError",
]);

/** Error codes a later attempt may not see: throttling, server trouble, timeouts. */
const TRANSIENT = new Set([
  "SlowDown",
  "Throttling",
  "ThrottlingException",
  "ThrottledException",
  "RequestThrottled",
  "RequestLimitExceeded",
  "TooManyRequestsException",
  "RequestTimeout",
  "RequestTimeoutException",
  "InternalError",
  "ServiceUnavailable",
  "TimeoutError",
  "RequestTimeTooSkewed",
  "OperationAborted",
]);

/** Node socket error codes that mean the connection failed, not the request. */
const NETWORK = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "ERR_STREAM_PREMATURE_CLOSE",
  "UND_ERR_SOCKET",
]);

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  Code?: unknown;
  message?: unknown;
  $metadata?: { httpStatusCode?: number };
  $response?: { statusCode?: number };
}

function describeSdkError(err: unknown): {
  name: string;
  status: number | undefined;
  message: string;
  code: string;
} {
  const e = (err ?? {}) as SdkErrorShape;
  const name = typeof e.name === "string" ? e.name : "Error";
  const code = typeof e.Code === "string" ? e.Code : typeof e.code === "string" ? e.code : name;
  const status = e.$metadata?.httpStatusCode ?? e.$response?.statusCode;
  const message = typeof e.message === "string" && e.message !== "" ? e.message : name;
  return { name, status, message, code };
}

/**
 * Maps an AWS SDK (or socket) error to our kinds. `context` names the call and object,
 * `bucket` is named in permanent errors so the user knows what to fix. Credentials never appear:
 * SDK error messages do not contain them and we add only the bucket and key.
 */
export function mapS3Error(
  context: string,
  bucket: string,
  err: unknown,
  signal?: AbortSignal,
): BackappError {
  if (err instanceof BackappError) return wrapError(context, err);
  const { name, status, message, code } = describeSdkError(err);
  if (signal?.aborted || name === "AbortError")
    return new CancelledError(`${context}: cancelled`, { cause: err });
  if (code === "NoSuchBucket" || name === "NoSuchBucket") {
    return new PermanentStorageError(`${context}: bucket "${bucket}" does not exist`, { cause: err });
  }
  if (name === "NoSuchKey" || code === "NoSuchKey" || name === "NotFound" || status === 404) {
    return new NotFoundError(`${context}: not found`, { cause: err });
  }
  if (name === "CredentialsProviderError") {
    return new PermanentStorageError(
      `${context}: no S3 credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or an AWS profile)`,
      { cause: err },
    );
  }
  if (DENIED.has(code) || DENIED.has(name) || status === 401 || status === 403) {
    return new PermanentStorageError(
      `${context}: access to bucket "${bucket}" denied (${code}); check the access key, secret and bucket policy`,
      { cause: err },
    );
  }
  if (
    TRANSIENT.has(code) ||
    TRANSIENT.has(name) ||
    status === 429 ||
    (status !== undefined && status >= 500)
  ) {
    return new TransientStorageError(`${context}: ${code}: ${message}`, { cause: err });
  }
  if (NETWORK.has(code) || /socket hang up|ECONNRESET|EPIPE|network|timed? ?out/i.test(message)) {
    return new TransientStorageError(`${context}: connection failed: ${message}`, { cause: err });
  }
  // Any other answer from the server (400 InvalidArgument, InvalidBucketName, ...) is a request
  // we will keep getting wrong; an error with no HTTP status never reached the server.
  if (status !== undefined)
    return new PermanentStorageError(`${context}: ${code}: ${message}`, { cause: err });
  return new TransientStorageError(`${context}: ${message}`, { cause: err });
}
