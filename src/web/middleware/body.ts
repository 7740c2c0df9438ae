/**
 * Request bodies: bounded in size (413 beyond MAX_BODY_BYTES, checked before anything parses them),
 * and the JSON API takes JSON only (415 for a body of another type), so hostile input gets a clean
 * 4xx instead of being parsed as something it is not.
 */
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { ValidationError } from "../../util/errors.ts";
import type { AppEnv } from "../context.ts";
import { errorResponse, isApiPath } from "../errors.ts";

/** Forms and JSON bodies are small; nothing here uploads files. */
const MAX_BODY_BYTES = 1024 * 1024;

export function limitBody(): MiddlewareHandler<AppEnv> {
  return bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: (c) => errorResponse(c as Context<AppEnv>, 413, "The request body is too large."),
  });
}

function hasBody(c: Context<AppEnv>): boolean {
  const length = c.req.header("content-length");
  if (length !== undefined) return Number(length) > 0;
  return c.req.header("transfer-encoding") !== undefined;
}

/** application/json or any "+json" type, with or without parameters. */
function isJsonType(type: string | undefined): boolean {
  const base = (type ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  return base === "application/json" || /^application\/[\w.+-]+\+json$/.test(base);
}

export function jsonOnlyApi(): MiddlewareHandler<AppEnv> {
  return async function jsonOnlyApiHandler(c, next) {
    const unsafe = !["GET", "HEAD", "OPTIONS"].includes(c.req.method);
    if (unsafe && isApiPath(c.req.path) && hasBody(c) && !isJsonType(c.req.header("content-type"))) {
      return errorResponse(c, 415, "Send a JSON body with Content-Type: application/json.");
    }
    await next();
  };
}

/**
 * The fields of a urlencoded or multipart body (hono caches the parse, so the CSRF check and the
 * handler share it). A malformed body is the client's mistake: ValidationError (400), not a 500.
 */
export async function parseFormBody(c: Context<AppEnv>): Promise<Record<string, string | File>> {
  try {
    return await c.req.parseBody({ all: false });
  } catch {
    throw new ValidationError("The form data could not be read.");
  }
}
