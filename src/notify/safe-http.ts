/**
 * One outgoing HTTP request to a user-supplied URL, the SSRF-safe way: the target is checked and
 * resolved by ssrf.ts, the socket connects to exactly that checked address (Host header and TLS
 * name stay the URL's host), redirects are never followed (a 3xx is an answer like any other), the
 * whole exchange has a short deadline and at most `maxResponseBytes` of the answer are read.
 */
import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import { BackappError } from "../util/errors.ts";
import { checkTarget, type GuardOptions } from "./ssrf.ts";

/** The request failed before an answer arrived (network, TLS, timeout). Worth retrying. */
export class RequestFailedError extends BackappError {}

export interface SafeRequest extends GuardOptions {
  url: string;
  method: "GET" | "POST" | "HEAD";
  headers?: Record<string, string>;
  body?: string;
  /** Deadline for the whole exchange (default 10 s). */
  timeoutMs?: number;
  /** How much of the answer to keep (default 64 KiB); the rest is not read. */
  maxResponseBytes?: number;
  /** Extra TLS options (tests: a custom CA). */
  ca?: string;
}

export interface SafeResponse {
  status: number;
  /** The first `maxResponseBytes` of the body, as text. */
  body: string;
  truncated: boolean;
}

export async function safeRequest(req: SafeRequest): Promise<SafeResponse> {
  const target = await checkTarget(req.url, req);
  const { address } = target;
  // Connect to the address checked above, whatever the resolver would say now.
  const pinned: LookupFunction = (_host, options, callback) => {
    if ((options as { all?: boolean }).all) callback(null, [address]);
    else callback(null, address.address, address.family);
  };
  const lib = target.url.protocol === "https:" ? https : http;
  const timeoutMs = req.timeoutMs ?? 10_000;
  const max = req.maxResponseBytes ?? 64 * 1024;
  return new Promise<SafeResponse>((resolve, reject) => {
    const fail = (message: string) =>
      reject(new RequestFailedError(`${req.method} ${target.host}: ${message}`));
    const outgoing = lib.request(
      {
        host: target.host,
        port: target.url.port || (target.url.protocol === "https:" ? 443 : 80),
        path: `${target.url.pathname}${target.url.search}`,
        method: req.method,
        headers: {
          ...req.headers,
          ...(req.body !== undefined ? { "Content-Length": String(Buffer.byteLength(req.body)) } : {}),
        },
        lookup: pinned,
        agent: false,
        ...(req.ca ? { ca: req.ca } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        let truncated = false;
        const finish = () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8"), truncated });
        };
        res.on("data", (chunk: Buffer) => {
          const room = max - size;
          if (chunk.length > room) {
            chunks.push(chunk.subarray(0, Math.max(room, 0)));
            size = max;
            truncated = true;
            res.destroy();
            finish();
            return;
          }
          chunks.push(chunk);
          size += chunk.length;
        });
        res.on("end", finish);
        res.on("error", (e) => {
          if (!truncated) fail(e.message);
        });
      },
    );
    const timer = setTimeout(() => {
      outgoing.destroy();
      fail(`no answer within ${timeoutMs} ms`);
    }, timeoutMs);
    outgoing.on("error", (e) => {
      clearTimeout(timer);
      fail(e.message);
    });
    outgoing.end(req.body);
  });
}
