/**
 * The few error kinds the whole program distinguishes. Every layer wraps causes with context
 * ("upload pack 3f2a: <cause>") and keeps the kind, so the CLI maps them to exit codes and the
 * web app to HTTP statuses in one place each.
 */
export class BackappError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Something asked for does not exist (object, snapshot, user, id owned by someone else). */
export class NotFoundError extends BackappError {}

/** Input was rejected: bad flag, bad form field, bad pattern. Safe to show to the user. */
export class ValidationError extends BackappError {}

/** A storage failure that retrying will not fix: access denied, missing bucket, bad credentials. */
export class PermanentStorageError extends BackappError {}

/** A storage failure that may succeed if retried: 5xx, SlowDown, timeout, connection reset. */
export class TransientStorageError extends BackappError {}

/** Data failed authentication or its hash: tampering or bit rot. */
export class IntegrityError extends BackappError {}

/** Wrong passphrase or key: the repository cannot be opened. */
export class WrongPasswordError extends BackappError {}

/** Another process holds a conflicting lock. */
export class LockedError extends BackappError {}

/** The operation was cancelled through its AbortSignal. */
export class CancelledError extends BackappError {
  constructor(message = "cancelled", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Wraps `cause` with a context prefix, keeping its kind when it is one of ours. */
export function wrapError(context: string, cause: unknown): BackappError {
  const message = `${context}: ${cause instanceof Error ? cause.message : String(cause)}`;
  if (cause instanceof BackappError) {
    const Kind = cause.constructor as new (m: string, o?: { cause?: unknown }) => BackappError;
    return new Kind(message, { cause });
  }
  return new BackappError(message, { cause });
}

/** Throws CancelledError when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError("cancelled", { cause: signal.reason });
}

/**
 * Replaces what follows "params:" on a line with "[redacted]": drizzle's failed-query errors list
 * the bound values there (emails, password and token hashes), in the message and so the stack.
 */
export function redactQueryParams(text: string): string {
  return text.replace(/^(\s*params:).*$/gm, "$1 [redacted]");
}
