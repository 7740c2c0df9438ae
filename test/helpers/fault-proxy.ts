/**
 * A fault-injecting HTTP proxy for an S3 server (s3rver) on a loopback port. Each request is
 * classified by its S3 operation (PutObject, UploadPart, GetObject, ListObjects, ...) and counted
 * per kind; the first rule that matches the request decides its fate: answered with an S3 error
 * (500, 503 or SlowDown) without reaching the server, connection reset after part of the body,
 * stalled before forwarding, response truncated (Content-Length promised, bytes missing), or one
 * byte of the body corrupted (the request's on the way in — stored damaged — or the response's).
 * Requests no rule matches pass through unchanged. Bodies are buffered: fine for test-sized objects.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type RequestKind =
  | "PutObject"
  | "UploadPart"
  | "CreateMultipartUpload"
  | "CompleteMultipartUpload"
  | "AbortMultipartUpload"
  | "GetObject"
  | "HeadObject"
  | "ListObjects"
  | "DeleteObject"
  | "DeleteObjects"
  | "Other";

export type FaultAction =
  | "500"
  | "503"
  | "slowdown"
  | "reset-request"
  | "reset-response"
  | "stall"
  | "truncate"
  | "corrupt-request"
  | "corrupt-response";

export interface FaultRule {
  kind: RequestKind | "any";
  /** Only the Nth request of this kind (1-based) ... */
  nth?: number;
  /** ... or every request of this kind after the first `after` (0: all). */
  after?: number;
  /** Only requests whose object key contains this text (e.g. "data/", "index/"). */
  keyIncludes?: string;
  action: FaultAction;
  /** Stall length (default 1500 ms). */
  stallMs?: number;
  /** How many times the rule may fire (default unlimited). */
  times?: number;
}

export interface FaultProxy {
  /** http://127.0.0.1:PORT, for AWS_ENDPOINT_URL. */
  endpoint: string;
  /** Replaces the rules and resets the per-kind counters. */
  setRules(rules: FaultRule[]): void;
  /** Faults injected so far, by action. */
  readonly injected: Record<string, number>;
  /** Requests seen, by kind. */
  readonly seen: Record<string, number>;
  stop(): Promise<void>;
}

/** The S3 operation of a path-style request. */
export function classify(method: string, url: URL): RequestKind {
  const q = url.searchParams;
  const objectKey = url.pathname.split("/").filter(Boolean).length > 1;
  if (method === "PUT") return q.has("partNumber") ? "UploadPart" : objectKey ? "PutObject" : "Other";
  if (method === "POST") {
    if (q.has("delete")) return "DeleteObjects";
    if (q.has("uploads")) return "CreateMultipartUpload";
    return q.has("uploadId") ? "CompleteMultipartUpload" : "Other";
  }
  if (method === "DELETE") return q.has("uploadId") ? "AbortMultipartUpload" : "DeleteObject";
  if (method === "HEAD") return objectKey ? "HeadObject" : "Other";
  if (method === "GET") return objectKey ? "GetObject" : q.has("location") ? "Other" : "ListObjects";
  return "Other";
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function s3Error(res: ServerResponse, status: number, code: string): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>injected ${code}</Message><RequestId>fault</RequestId></Error>`;
  res.writeHead(status, { "content-type": "application/xml", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

/** Flips one byte near the middle (a pack's data, not its length-bearing tail). */
function corrupt(body: Buffer): Buffer {
  if (body.length === 0) return body;
  const out = Buffer.from(body);
  const i = Math.floor(out.length / 2);
  out[i] = out[i]! ^ 0x5a;
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startFaultProxy(upstream: string, initial: FaultRule[] = []): Promise<FaultProxy> {
  let rules: (FaultRule & { fired: number })[] = [];
  let seen: Record<string, number> = {};
  const injected: Record<string, number> = {};
  const setRules = (next: FaultRule[]) => {
    rules = next.map((r) => ({ ...r, fired: 0 }));
    seen = {};
  };
  setRules(initial);

  const pick = (kind: RequestKind, key: string, n: number) =>
    rules.find((r) => {
      if (r.kind !== "any" && r.kind !== kind) return false;
      if (r.keyIncludes !== undefined && !key.includes(r.keyIncludes)) return false;
      if (r.times !== undefined && r.fired >= r.times) return false;
      if (r.nth !== undefined) return n === r.nth;
      return n > (r.after ?? 0);
    });

  async function forward(req: IncomingMessage, body: Buffer): Promise<Response> {
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) {
      if (v === undefined || k === "host" || k === "connection" || k === "transfer-encoding") continue;
      headers.set(k, Array.isArray(v) ? v.join(",") : v);
    }
    const hasBody = req.method !== "GET" && req.method !== "HEAD";
    return fetch(`${upstream}${req.url}`, {
      method: req.method,
      headers,
      body: hasBody ? body : undefined,
      decompress: false,
      redirect: "manual",
    } as RequestInit);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://proxy");
    const kind = classify(req.method ?? "GET", url);
    const n = (seen[kind] ?? 0) + 1;
    seen[kind] = n;
    const rule = pick(kind, decodeURIComponent(url.pathname), n);
    if (rule) {
      rule.fired++;
      injected[rule.action] = (injected[rule.action] ?? 0) + 1;
    }
    const action = rule?.action;
    if (action === "reset-request") {
      // Take part of the upload, then drop the connection: the client sees a reset mid-body.
      req.once("data", () => req.socket.destroy());
      req.once("end", () => req.socket.destroy());
      return;
    }
    let body = await readBody(req);
    if (action === "500") return s3Error(res, 500, "InternalError");
    if (action === "503") return s3Error(res, 503, "ServiceUnavailable");
    if (action === "slowdown") return s3Error(res, 503, "SlowDown");
    if (action === "stall") await sleep(rule?.stallMs ?? 1500);
    if (action === "corrupt-request") body = corrupt(body);
    const answer = await forward(req, body);
    let out: Buffer = Buffer.from(await answer.arrayBuffer());
    const headers: Record<string, string> = {};
    answer.headers.forEach((v, k) => {
      if (k !== "content-length" && k !== "transfer-encoding" && k !== "connection") headers[k] = v;
    });
    const ok = answer.status >= 200 && answer.status < 300 && out.length > 1;
    if (action === "corrupt-response" && ok) out = corrupt(out);
    if ((action === "truncate" || action === "reset-response") && ok && req.method !== "HEAD") {
      res.writeHead(answer.status, { ...headers, "content-length": String(out.length) });
      res.write(out.subarray(0, Math.floor(out.length / 2)));
      // truncate: the stream ends early; reset: the socket is torn down (both leave bytes missing).
      setTimeout(() => (action === "truncate" ? res.socket?.end() : res.socket?.destroy()), 20);
      return;
    }
    const length = req.method === "HEAD" ? (answer.headers.get("content-length") ?? "0") : String(out.length);
    res.writeHead(answer.status, { ...headers, "content-length": length });
    res.end(req.method === "HEAD" ? undefined : out);
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => res.socket?.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    setRules,
    injected,
    get seen() {
      return seen;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
