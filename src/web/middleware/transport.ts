/**
 * Strict-Transport-Security, only on answers that reached the browser over HTTPS: directly, through
 * a trusted proxy that says so (X-Forwarded-Proto from anyone else is ignored), or addressed to the
 * host of an https public URL (the admin declared that users reach that name over TLS, usually
 * through a proxy that is not listed as trusted). Over plain HTTP the header is left out: browsers
 * ignore it there, and sending it to a server reached at http://127.0.0.1:8080 would say nothing true.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../context.ts";
import { isSecureRequest } from "./client.ts";

/** One year, subdomains included: the value the HSTS preload list and Mozilla's guidelines ask for. */
export const HSTS_VALUE = "max-age=31536000; includeSubDomains";

function publicHttpsHost(c: Context<AppEnv>): string | null {
  try {
    const url = new URL(c.get("services").security.publicUrl);
    return url.protocol === "https:" ? url.host.toLowerCase() : null;
  } catch {
    return null;
  }
}

function reachedOverHttps(c: Context<AppEnv>): boolean {
  if (isSecureRequest(c)) return true;
  const host = publicHttpsHost(c);
  return host !== null && (c.req.header("host") ?? "").toLowerCase() === host;
}

export function strictTransport(): MiddlewareHandler<AppEnv> {
  return async function strictTransportHandler(c, next) {
    await next();
    if (reachedOverHttps(c)) c.header("Strict-Transport-Security", HSTS_VALUE);
  };
}
