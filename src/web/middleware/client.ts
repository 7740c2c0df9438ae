/**
 * Who is calling and over what: the client IP and whether the request is HTTPS. Forwarded
 * headers count only when the direct peer is a proxy the admin listed as trusted; otherwise
 * anyone could claim any address and dodge rate limits.
 */
import { BlockList, isIP } from "node:net";
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

const matchers = new WeakMap<readonly string[], BlockList>();

/**
 * The trusted proxies as a BlockList: single addresses ("10.0.0.2", "::1") or networks in CIDR
 * form ("172.16.0.0/12", "fd00::/8"), so a proxy whose container address changes still counts.
 * Entries that are neither are ignored (they can match nothing).
 */
function trustedList(entries: readonly string[]): BlockList {
  let list = matchers.get(entries);
  if (list) return list;
  list = new BlockList();
  for (const entry of entries) {
    const [address = "", prefix] = entry
      .trim()
      .replace(/^::ffff:/, "")
      .split("/");
    const family = isIP(address);
    if (family === 0) continue;
    const type = family === 4 ? "ipv4" : "ipv6";
    const bits = prefix === undefined ? null : Number(prefix);
    if (bits === null) list.addAddress(address, type);
    else if (Number.isInteger(bits) && bits >= 0 && bits <= (family === 4 ? 32 : 128))
      list.addSubnet(address, bits, type);
  }
  matchers.set(entries, list);
  return list;
}

function isTrusted(c: Context<AppEnv>, address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return trustedList(c.get("services").security.trustedProxies).check(
    address,
    family === 4 ? "ipv4" : "ipv6",
  );
}

function fromTrustedProxy(c: Context<AppEnv>): boolean {
  return isTrusted(c, peerAddress(c));
}

/**
 * The client's address. X-Forwarded-For is read from the right: each trusted proxy vouches only
 * for the hop it appended, so the first address that is not a trusted proxy is the client. (The
 * leftmost entry is whatever the client sent, and would let anyone dodge rate limits.)
 */
function clientAddress(c: Context<AppEnv>): string {
  let ip = peerAddress(c);
  const hops = (c.req.header("x-forwarded-for") ?? "")
    .split(",")
    .map((h) => h.trim().replace(/^::ffff:/, ""))
    .filter(Boolean);
  while (isTrusted(c, ip)) {
    const hop = hops.pop();
    if (hop === undefined || isIP(hop) === 0) break;
    ip = hop;
  }
  return ip;
}

/** Sets `clientIp` for the rate limiter and audit log. */
export function clientInfo(): MiddlewareHandler<AppEnv> {
  return async function clientInfoHandler(c, next) {
    c.set("clientIp", clientAddress(c));
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
