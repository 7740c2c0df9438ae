import type { MiddlewareHandler } from "hono";
import { newId } from "../../util/ids.ts";
import type { AppEnv } from "../context.ts";

/** One JSON log line per request: method, path (no query string: it may carry tokens), status, ms. */
export function requestLog(): MiddlewareHandler<AppEnv> {
  return async function requestLogHandler(c, next) {
    const start = performance.now();
    const requestId = newId().slice(0, 12);
    c.set("requestId", requestId);
    await next();
    const { logger } = c.get("services");
    logger.info(
      {
        reqId: requestId,
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round((performance.now() - start) * 10) / 10,
      },
      "request",
    );
  };
}
