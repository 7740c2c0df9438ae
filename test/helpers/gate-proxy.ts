/**
 * An HTTP proxy in front of s3rver that holds the requests a test names (say the first pack
 * DeleteObjects of a prune) until the test lets them go: a deterministic point in the middle of a
 * run to SIGKILL a server at. Everything else passes through. Bodies are buffered (test-sized).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** What a hold rule sees of a request: its method, path (with the bucket) and body as text. */
export interface SeenRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: string;
}

export interface GateProxy {
  endpoint: string;
  /** From now on, requests `match` accepts wait (until released); resolves when the first does. */
  holdWhen(match: (r: SeenRequest) => boolean): Promise<void>;
  /** Requests waiting now. */
  waiting(): number;
  /** Resolves once `n` requests were held since holdWhen (at once if already). */
  heldAtLeast(n: number): Promise<void>;
  /** Lets the oldest waiting request through (holding goes on). */
  releaseOne(): void;
  /** Lets held requests through and stops holding. */
  release(): void;
  stop(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

async function forward(upstream: string, req: IncomingMessage, body: Buffer, res: ServerResponse) {
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined || k === "host" || k === "connection" || k === "transfer-encoding") continue;
    headers.set(k, Array.isArray(v) ? v.join(",") : v);
  }
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  const answer = await fetch(`${upstream}${req.url}`, {
    method: req.method,
    headers,
    body: hasBody ? body : undefined,
    decompress: false,
    redirect: "manual",
  } as RequestInit);
  const out = Buffer.from(await answer.arrayBuffer());
  const outHeaders: Record<string, string> = {};
  answer.headers.forEach((v, k) => {
    if (k !== "transfer-encoding" && k !== "connection") outHeaders[k] = v;
  });
  // A HEAD answer's length is the object's (the client checks it); others carry the bytes read.
  if (req.method !== "HEAD") outHeaders["content-length"] = String(out.length);
  res.writeHead(answer.status, outHeaders);
  res.end(req.method === "HEAD" ? undefined : out);
}

export async function startGateProxy(upstream: string): Promise<GateProxy> {
  let match: ((r: SeenRequest) => boolean) | null = null;
  let held = 0;
  let watchers: { n: number; resolve: () => void }[] = [];
  const waiting: (() => void)[] = [];
  const heldOne = () => {
    held++;
    for (const w of watchers.filter((w) => held >= w.n)) w.resolve();
    watchers = watchers.filter((w) => held < w.n);
  };
  const server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const url = new URL(req.url ?? "/", "http://proxy");
      const path = decodeURIComponent(url.pathname);
      const seen = {
        method: req.method ?? "GET",
        path,
        query: url.searchParams,
        body: body.toString("latin1"),
      };
      if (match?.(seen)) {
        const go = new Promise<void>((r) => waiting.push(r));
        heldOne();
        await go;
        // A client that gave up (its process was killed) never reaches the server.
        if (req.socket.destroyed) return;
      }
      await forward(upstream, req, body, res);
    })().catch(() => res.destroy());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  const heldAtLeast = (n: number) =>
    held >= n ? Promise.resolve() : new Promise<void>((resolve) => watchers.push({ n, resolve }));
  const release = () => {
    match = null;
    for (const go of waiting.splice(0)) go();
  };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    async holdWhen(m) {
      match = m;
      held = 0;
      await heldAtLeast(1);
    },
    waiting: () => waiting.length,
    heldAtLeast,
    releaseOne() {
      waiting.shift()?.();
    },
    release,
    async stop() {
      release();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
