/**
 * The one place errors become responses: JSON under /api, HTML pages elsewhere. Messages of
 * unexpected errors are logged, never shown (no stack traces, no secrets).
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { AuthFailedError, FieldError, ForbiddenError, RateLimitedError } from "../auth/errors.ts";
import { EmailTakenError } from "../db/users.ts";
import { NotFoundError, redactQueryParams, ValidationError } from "../util/errors.ts";
import type { AppEnv } from "./context.ts";

const HEADINGS: Record<number, string> = {
  400: "Bad request",
  401: "Sign in required",
  403: "Forbidden",
  404: "Not found",
  405: "Method not allowed",
  409: "Conflict",
  413: "Too large",
  415: "Unsupported media type",
  429: "Too many requests",
  500: "Something went wrong",
  502: "Bad gateway",
};

export function isApiPath(path: string): boolean {
  return path === "/api" || path.startsWith("/api/");
}

export function errorResponse(
  c: Context<AppEnv>,
  status: ContentfulStatusCode,
  message: string,
  fields?: Record<string, string>,
) {
  const heading = HEADINGS[status] ?? "Error";
  if (isApiPath(c.req.path))
    return c.json({ error: { status, message, ...(fields ? { fields } : {}) } }, status);
  const user = c.get("user");
  const session = c.get("session");
  const html = c.get("services").renderer.page("error", {
    title: heading,
    status,
    heading,
    message,
    user,
    csrf: session?.csrfToken ?? null,
  });
  return c.html(html, status);
}

/**
 * An error as logged: name, message, stack and cause, with the bound values of a failed SQL query
 * removed (drizzle's DrizzleQueryError puts them in its message and so in its stack): they hold
 * emails, password and token hashes, encrypted secrets.
 */
function loggableError(error: Error): Record<string, unknown> {
  const cause =
    error.cause instanceof Error
      ? { name: error.cause.name, message: redactQueryParams(error.cause.message) }
      : undefined;
  return {
    name: error.name,
    message: redactQueryParams(error.message),
    ...(error.stack ? { stack: redactQueryParams(error.stack) } : {}),
    ...(cause ? { cause } : {}),
  };
}

export function notFound(c: Context<AppEnv>) {
  return errorResponse(c, 404, "There is nothing at this address.");
}

export function onError(error: Error, c: Context<AppEnv>) {
  if (error instanceof HTTPException) {
    if (error.res) return error.res;
    return errorResponse(
      c,
      error.status as ContentfulStatusCode,
      error.message || HEADINGS[error.status] || "",
    );
  }
  if (error instanceof NotFoundError) return notFound(c);
  if (error instanceof RateLimitedError) {
    c.header("Retry-After", String(error.retryAfter));
    return errorResponse(c, 429, error.message);
  }
  if (error instanceof AuthFailedError) return errorResponse(c, 401, error.message);
  if (error instanceof ForbiddenError) return errorResponse(c, 403, error.message, error.fields);
  if (error instanceof EmailTakenError) return errorResponse(c, 409, error.message, { email: error.message });
  if (error instanceof FieldError) return errorResponse(c, 400, error.message, error.fields);
  if (error instanceof ValidationError) return errorResponse(c, 400, error.message);
  c.get("services").logger.error({ reqId: c.get("requestId"), err: loggableError(error) }, "unhandled error");
  return errorResponse(c, 500, "An unexpected error occurred. It has been logged.");
}
