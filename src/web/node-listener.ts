/**
 * The HTTP listener: Bun's `node:http` server driving the app's fetch handler. Not Bun.serve,
 * because Bun.serve (1.4.5) drops a handler's Content-Length whenever the body is a stream that is
 * not complete at once and sends it chunked (oven-sh/bun#10507): a 10 GiB download would then
 * reach the browser with no size, no progress and no way to tell a cut-off body from a whole one.
 * `node:http` writes the headers the handler set, so a streamed body keeps its exact length.
 *
 * What this adapter guarantees, the part Bun.serve did for us:
 * - the body is pulled only as fast as the socket drains (memory stays flat however large);
 * - a client that leaves aborts `request.signal` and cancels the body stream (stops the reading);
 * - a body stream that errors mid-way destroys the socket, never ends the response cleanly (a
 *   Content-Length body is then visibly short, a chunked one lacks its last chunk);
 * - HEAD answers the GET's headers with no body; `env.requestIP(request)` gives the peer address.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";

export type FetchHandler = (request: Request, env: ListenerEnv) => Response | Promise<Response>;

/** What handlers see as `c.env` (web/middleware/client.ts reads the peer address from it). */
export interface ListenerEnv {
  requestIP(request: Request): { address: string; family: string; port: number } | null;
}

export interface Listener {
  port: number;
  /**
   * Stops accepting. `force` false: resolves once every in-flight response ended (idle keep-alive
   * connections are closed at once); true: cuts every connection now. Never rejects.
   */
  stop(force: boolean): Promise<void>;
}

/** Listens on host:port (0: any free port). Rejects with the socket error (its `code`, say EADDRINUSE). */
export function listenHttp(options: {
  hostname: string;
  port: number;
  fetch: FetchHandler;
}): Promise<Listener> {
  const server = createServer((req, res) => void serve(req, res, options.fetch, options.hostname));
  // Long-lived event streams and slow downloads: no idle or whole-request timeouts of the server's
  // own (the SSE heartbeat and the client decide), as Bun.serve's `idleTimeout: 0` did.
  server.timeout = 0;
  server.requestTimeout = 0;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.hostname, () => {
      server.off("error", reject);
      resolve({ port: (server.address() as AddressInfo).port, stop: (force) => stopServer(server, force) });
    });
  });
}

function stopServer(server: Server, force: boolean): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    if (force) server.closeAllConnections();
    else server.closeIdleConnections();
  });
}

function toRequest(req: IncomingMessage, hostname: string, signal: AbortSignal): Request {
  const host = req.headers.host ?? (hostname.includes(":") ? `[${hostname}]` : hostname);
  const headers = new Headers();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    headers.append(req.rawHeaders[i] as string, req.rawHeaders[i + 1] as string);
  }
  const method = req.method ?? "GET";
  const hasBody = method !== "GET" && method !== "HEAD";
  const body = hasBody ? (Readable.toWeb(req) as unknown as ReadableStream<Uint8Array>) : null;
  return new Request(`http://${host}${req.url ?? "/"}`, {
    method,
    headers,
    body,
    signal,
    ...(hasBody ? { duplex: "half" } : {}),
  } as RequestInit);
}

async function serve(req: IncomingMessage, res: ServerResponse, fetch: FetchHandler, hostname: string) {
  const aborter = new AbortController();
  // The client left before the response ended: stop whatever still works for it.
  res.once("close", () => {
    if (!res.writableFinished) aborter.abort(new Error("the client closed the connection"));
  });
  const socket = req.socket;
  const env: ListenerEnv = {
    requestIP: () =>
      socket.remoteAddress
        ? { address: socket.remoteAddress, family: socket.remoteFamily ?? "", port: socket.remotePort ?? 0 }
        : null,
  };
  let response: Response;
  try {
    response = await fetch(toRequest(req, hostname, aborter.signal), env);
  } catch {
    // The app's onError answers every error it sees; this is a last resort.
    if (!res.headersSent) res.writeHead(500, { "Content-Type": "text/plain" });
    res.end("Internal Server Error");
    return;
  }
  writeHead(res, response);
  if (req.method === "HEAD" || !response.body) {
    await response.body?.cancel().catch(() => {});
    res.end();
    return;
  }
  await pipeBody(response.body, res, aborter.signal);
}

function writeHead(res: ServerResponse, response: Response): void {
  const cookies = response.headers.getSetCookie();
  for (const [name, value] of response.headers) {
    if (name !== "set-cookie") res.setHeader(name, value);
  }
  if (cookies.length > 0) res.setHeader("set-cookie", cookies);
  res.writeHead(response.status, response.statusText || undefined);
  // An event stream's client should see it open at once, not with its first event.
  if (response.headers.get("content-type")?.startsWith("text/event-stream")) res.flushHeaders();
}

/** Pulls the body as the socket drains; a left client cancels it, a failing one cuts the socket. */
async function pipeBody(body: ReadableStream<Uint8Array>, res: ServerResponse, signal: AbortSignal) {
  const reader = body.getReader();
  const left = new Promise<"left">((resolve) => {
    if (signal.aborted) resolve("left");
    signal.addEventListener("abort", () => resolve("left"), { once: true });
  });
  try {
    for (;;) {
      const r = await Promise.race([reader.read(), left]);
      if (r === "left") break;
      if (r.done) {
        res.end();
        return;
      }
      if (!res.write(r.value)) {
        const drained = new Promise<"drained">((resolve) => res.once("drain", () => resolve("drained")));
        if ((await Promise.race([drained, left])) === "left") break;
      }
    }
    await reader.cancel(signal.reason).catch(() => {});
  } catch (error) {
    // Never res.end() here: the client must see a broken body, not a complete one.
    await reader.cancel(error).catch(() => {});
    res.destroy(error as Error);
  }
}
