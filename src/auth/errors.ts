/** Error kinds of the auth layer; src/web/errors.ts maps each to its HTTP status. */
import { BackappError, ValidationError } from "../util/errors.ts";

/** Wrong credentials, or no valid session/token (401). The message never says which part was wrong. */
export class AuthFailedError extends BackappError {
  constructor(message = "Email or password is incorrect.") {
    super(message);
  }
}

/**
 * Not allowed (403): closed registration, a wrong or missing setup token, the last admin.
 * `fields` names the form field at fault, when there is one (shown beside it, sent as `fields`).
 */
export class ForbiddenError extends BackappError {
  constructor(
    message: string,
    readonly fields?: Record<string, string>,
  ) {
    super(message);
  }
}

/** Too many attempts (429); `retryAfter` in seconds. */
export class RateLimitedError extends BackappError {
  constructor(
    readonly retryAfter: number,
    message = `Too many attempts. Try again in ${retryAfter} seconds.`,
  ) {
    super(message);
  }
}

/** Input rejected per field (400); `fields` maps a field name to its first problem. */
export class FieldError extends ValidationError {
  constructor(readonly fields: Record<string, string>) {
    super(Object.values(fields)[0] ?? "Check the form.");
  }
}
