/**
 * Who is calling and over what: the client IP and whether the request is HTTPS. Forwarded
 * headers count only when the direct peer is a proxy the admin listed as trusted; otherwise
 * anyone could claim any address and dodge rate limits.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../context.ts";

function peerAddress(c: Context<AppEnv>): string {
  const server = c.env as { requestIP?: (r: Request) => { address: string } | null } | undefined;
  try {
    const address = server?.requestIP?.(c.req.raw)?.address;
    if (address) return address.replace(/^::ffff:/, "");
  } catch {
    // app.request() in tests has no socket.
  }
  return "local";
}

function fromTrustedProxy(c: Context<AppEnv>): boolean {
  const proxies = c.get("services").security.trustedProxies;
  return proxies.length > 0 && proxies.includes(peerAddress(c));
}

/** Sets `clientIp` for the rate limiter and audit log. */
export function clientInfo(): MiddlewareHandler<AppEnv> {
  return async function clientInfoHandler(c, next) {
    let ip = peerAddress(c);
    if (fromTrustedProxy(c)) {
      const forwarded = c.req.header("x-forwarded-for")?.split(",")[0]?.trim();
      if (forwarded) ip = forwarded;
    }
    c.set("clientIp", ip);
    await next();
  };
}

/** HTTPS directly, or through a trusted proxy that says so. */
export function isSecureRequest(c: Context<AppEnv>): boolean {
  if (new URL(c.req.url).protocol === "https:") return true;
  return fromTrustedProxy(c) && c.req.header("x-forwarded-proto")?.split(",")[0]?.trim() === "https";
}

/** The origin the browser sees: scheme (per isSecureRequest) and the Host header. */
export function requestOrigin(c: Context<AppEnv>): string {
  const url = new URL(c.req.url);
  const host = c.req.header("host") ?? url.host;
  return `${isSecureRequest(c) ? "https" : "http"}://${host}`;
}
