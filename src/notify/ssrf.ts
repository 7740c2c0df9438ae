/**
 * Server-side request forgery guard for user-supplied URLs (webhooks, health-check pings): a user
 * must not make the server talk to itself, the cloud metadata service or the private network.
 * The host is resolved once, every address it resolves to is checked, and the request then
 * connects to the checked address (see safe-http.ts), so a second DNS answer cannot swap in a
 * private address (no rebinding gap). An admin setting allows private targets for self-hosted
 * receivers on the LAN.
 */
import { lookup as dnsLookup } from "node:dns/promises";
import { isIP } from "node:net";
import { BackappError } from "../util/errors.ts";

/** The target is refused: its address is not public, or the URL is not http(s). Permanent. */
export class TargetRefusedError extends BackappError {}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to all its addresses (injectable for tests). */
export type Resolver = (host: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = async (host) => {
  const all = await dnsLookup(host, { all: true, verbatim: true });
  return all.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

type V4Range = [base: number, bits: number, name: string];

const V4_RANGES: V4Range[] = [
  [0x00000000, 8, "unspecified (0.0.0.0/8)"],
  [0x0a000000, 8, "private (10.0.0.0/8)"],
  [0x64400000, 10, "shared address space (100.64.0.0/10)"],
  [0x7f000000, 8, "loopback (127.0.0.0/8)"],
  [0xa9fe0000, 16, "link-local (169.254.0.0/16)"],
  [0xac100000, 12, "private (172.16.0.0/12)"],
  [0xc0000000, 24, "IETF protocol assignments (192.0.0.0/24)"],
  [0xc0a80000, 16, "private (192.168.0.0/16)"],
  [0xc6120000, 15, "benchmarking (198.18.0.0/15)"],
  [0xe0000000, 4, "multicast (224.0.0.0/4)"],
  [0xf0000000, 4, "reserved (240.0.0.0/4)"],
];

function parseV4(ip: string): number | null {
  const parts = ip.split(".");
  if (parts.length !== 4) return null;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return null;
    n = n * 256 + Number(p);
  }
  return n;
}

function v4Reason(n: number): string | null {
  for (const [base, bits, name] of V4_RANGES) {
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    if ((n & mask) >>> 0 === base) return name;
  }
  return null;
}

/** Eight 16-bit groups of an IPv6 address (embedded dotted IPv4 and "::" expanded), or null. */
function parseV6(ip: string): number[] | null {
  let text = ip.replace(/%.*$/, "").toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const v4 = parseV4(dotted[1] as string);
    if (v4 === null) return null;
    text = `${text.slice(0, -dotted[1]!.length)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(":") : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  const missing = 8 - head.length - tail.length;
  if ((halves.length === 1 && missing !== 0) || missing < 0) return null;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  if (groups.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return null;
  return groups.map((g) => Number.parseInt(g, 16));
}

const v4Of = (g: number[], at: number) => (((g[at] as number) << 16) | (g[at + 1] as number)) >>> 0;

function v6Reason(g: number[]): string | null {
  const zeroUntil = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (zeroUntil(8)) return "unspecified (::)";
  if (zeroUntil(7) && g[7] === 1) return "loopback (::1)";
  // IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) carry
  // an IPv4 address the kernel or a gateway will reach: judge that address.
  const embedded =
    zeroUntil(5) && g[5] === 0xffff
      ? v4Of(g, 6)
      : zeroUntil(6)
        ? v4Of(g, 6)
        : g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)
          ? v4Of(g, 6)
          : g[0] === 0x2002
            ? v4Of(g, 1)
            : null;
  if (embedded !== null) {
    const reason = v4Reason(embedded);
    return reason ? `IPv4 ${reason} inside IPv6` : null;
  }
  const first = g[0] as number;
  if ((first & 0xffc0) === 0xfe80) return "link-local (fe80::/10)";
  if ((first & 0xffc0) === 0xfec0) return "site-local (fec0::/10)";
  if ((first & 0xfe00) === 0xfc00) return "unique local (fc00::/7)";
  if ((first & 0xff00) === 0xff00) return "multicast (ff00::/8)";
  if (first === 0x2001 && g[1] === 0x0db8) return "documentation (2001:db8::/32)";
  return null;
}

/** Why `ip` is not a public address (e.g. "loopback (127.0.0.0/8)"), or null when it is public. */
export function nonPublicReason(ip: string): string | null {
  const kind = isIP(ip.replace(/%.*$/, ""));
  if (kind === 4) {
    const n = parseV4(ip);
    return n === null ? "not an address" : v4Reason(n);
  }
  if (kind === 6) {
    const g = parseV6(ip);
    return g === null ? "not an address" : v6Reason(g);
  }
  return "not an address";
}

export interface GuardOptions {
  /** Admin setting: allow loopback, private and link-local targets (self-hosted receivers). */
  allowPrivate: boolean;
  resolve?: Resolver;
}

export interface CheckedTarget {
  url: URL;
  /** The host name as in the URL (brackets removed), for the Host header and TLS SNI. */
  host: string;
  /** The address to connect to: checked, and used for this request only. */
  address: ResolvedAddress;
}

/**
 * Checks a URL and resolves its host; throws TargetRefusedError for a non-http(s) URL, a URL with
 * credentials, a host that does not resolve, or (unless allowed) any resolved address that is not
 * public. All addresses must pass, so a name with one public and one private record is refused.
 */
export async function checkTarget(raw: string | URL, options: GuardOptions): Promise<CheckedTarget> {
  const url = typeof raw === "string" ? parseUrl(raw) : raw;
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TargetRefusedError(`${url.protocol} URLs are not allowed: use http or https`);
  }
  if (url.username || url.password)
    throw new TargetRefusedError("URLs with a user name or password are refused");
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const literal = isIP(host);
  let addresses: ResolvedAddress[];
  if (literal) addresses = [{ address: host, family: literal === 6 ? 6 : 4 }];
  else {
    try {
      addresses = await (options.resolve ?? systemResolver)(host);
    } catch (error) {
      throw new TargetRefusedError(`${host} does not resolve: ${(error as Error).message}`);
    }
  }
  const first = addresses[0];
  if (!first) throw new TargetRefusedError(`${host} does not resolve`);
  if (!options.allowPrivate) {
    for (const a of addresses) {
      const reason = nonPublicReason(a.address);
      if (reason) {
        const what = literal
          ? `${host} is a ${reason} address`
          : `${host} resolves to ${a.address}, a ${reason} address`;
        throw new TargetRefusedError(`${what}; an admin can allow private webhook targets`);
      }
    }
  }
  return { url, host, address: first };
}

function parseUrl(raw: string): URL {
  try {
    return new URL(raw);
  } catch {
    throw new TargetRefusedError("not a valid URL");
  }
}
