import {
  BackappError,
  NotFoundError,
  PermanentStorageError,
  TransientStorageError,
  wrapError,
} from "../util/errors.ts";

/** On reads a folder where an object is named counts as no object. */
const NOT_FOUND = new Set(["ENOENT", "ENOTDIR", "EISDIR"]);
const DENIED = new Set(["EACCES", "EPERM"]);
const READ_ONLY = new Set(["EROFS"]);
const FULL = new Set(["ENOSPC", "EDQUOT", "EFBIG"]);
/** Conditions that tend to clear up: resource exhaustion, busy files, flaky network mounts. */
const TRANSIENT = new Set(["EAGAIN", "EBUSY", "EMFILE", "ENFILE", "EINTR", "ETIMEDOUT", "EIO", "ESTALE"]);

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/**
 * Maps a node:fs error to our kinds. `reading` is false for writes, where a missing directory
 * below the root means the root itself is gone or unusable (permanent), not a missing object.
 */
export function mapFsError(context: string, err: unknown, opts: { reading: boolean }): BackappError {
  if (err instanceof BackappError) return wrapError(context, err);
  const code = codeOf(err);
  const detail = err instanceof Error ? err.message : String(err);
  if (code && NOT_FOUND.has(code) && opts.reading)
    return new NotFoundError(`${context}: not found`, { cause: err });
  if (code && DENIED.has(code)) {
    return new PermanentStorageError(
      `${context}: permission denied (${code}); check the repository folder's owner and mode`,
      {
        cause: err,
      },
    );
  }
  if (code && READ_ONLY.has(code)) {
    return new PermanentStorageError(`${context}: the repository folder is on a read-only file system`, {
      cause: err,
    });
  }
  if (code && FULL.has(code)) {
    return new PermanentStorageError(`${context}: no space left on the repository's disk (${code})`, {
      cause: err,
    });
  }
  if (code && TRANSIENT.has(code)) return new TransientStorageError(`${context}: ${detail}`, { cause: err });
  return new PermanentStorageError(`${context}: ${detail}`, { cause: err });
}
