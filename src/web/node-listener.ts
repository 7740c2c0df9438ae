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

/** After an early answer (a 413, say), the rest of a request body read and dropped, this much at most. */
const DISCARD_MAX = 16 * 1024 * 1024;

/**
 * The request body as a web stream, read only as the app pulls it. Cancelling it leaves `req` to
 * discardRest rather than destroying it: destroying would reset the connection, and the client,
 * still sending, would lose the answer.
 */
function requestBody(req: IncomingMessage): ReadableStream<Uint8Array> {
  let onData: ((d: Buffer) => void) | null = null;
  let closed = false;
  return new ReadableStream<Uint8Array>({
    start(c) {
      req.pause();
      onData = (d) => {
        c.enqueue(new Uint8Array(d));
        if ((c.desiredSize ?? 0) <= 0) req.pause();
      };
      req.on("data", onData);
      req.once("end", () => {
        if (!closed) c.close();
        closed = true;
      });
      req.once("error", (e) => {
        if (!closed) c.error(e);
        closed = true;
      });
    },
    pull() {
      req.resume();
    },
    cancel() {
      closed = true;
      if (onData) req.off("data", onData);
    },
  });
}

/** Reads and drops what the client still sends of a body the app did not read (bounded). */
function discardRest(req: IncomingMessage, request: Request): void {
  if (req.complete) return;
  void request.body?.cancel().catch(() => {});
  let left = DISCARD_MAX;
  req.on("data", (d: Buffer) => {
    left -= d.byteLength;
    if (left < 0) req.destroy();
  });
  req.resume();
}

function toRequest(req: IncomingMessage, hostname: string, signal: AbortSignal): Request {
  const host = req.headers.host ?? (hostname.includes(":") ? `[${hostname}]` : hostname);
  const headers = new Headers();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    headers.append(req.rawHeaders[i] as string, req.rawHeaders[i + 1] as string);
  }
  const method = req.method ?? "GET";
  const hasBody = method !== "GET" && method !== "HEAD";
  const body = hasBody ? requestBody(req) : null;
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
  let request: Request;
  try {
    request = toRequest(req, hostname, aborter.signal);
  } catch {
    // A Host header that makes no URL.
    res.writeHead(400, { "Content-Type": "text/plain", Connection: "close" });
    res.end("Bad Request");
    return;
  }
  let response: Response;
  try {
    response = await fetch(request, env);
    discardRest(req, request);
  } catch {
    // The app's onError answers every error it sees; this is a last resort.
    if (!res.headersSent) res.writeHead(500, { "Content-Type": "text/plain" });
    res.end("Internal Server Error");
    return;
  }
  setHead(res, response);
  if (req.method === "HEAD" && response.body) {
    await answerHead(response.body, res);
    return;
  }
  if (!response.body) {
    res.end();
    return;
  }
  await pipeBody(response.body, res, aborter.signal);
}

/** Status and headers, sent with the first body write (an event stream's at once). */
function setHead(res: ServerResponse, response: Response): void {
  const cookies = response.headers.getSetCookie();
  for (const [name, value] of response.headers) {
    if (name !== "set-cookie") res.setHeader(name, value);
  }
  if (cookies.length > 0) res.setHeader("set-cookie", cookies);
  res.statusCode = response.status;
  if (response.statusText) res.statusMessage = response.statusText;
  // An event stream's client should see it open at once, not with its first event.
  if (isEventStream(res)) res.flushHeaders();
}

type Reader = ReadableStreamDefaultReader<Uint8Array>;

/** A body this size or less, wholly in memory, goes out with its Content-Length in one write. */
const WHOLE_MAX = 1024 * 1024;
const TURN = Symbol("turn");

/**
 * The body's chunks that are in memory already (a page's string comes as 16 KiB chunks, each read
 * settling before the event loop turns), up to WHOLE_MAX. `pending` is the read still waiting
 * (a stream fed by I/O, such as a download), to be awaited next.
 */
async function readyChunks(reader: Reader) {
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size <= WHOLE_MAX) {
    const pending = reader.read();
    const turn = new Promise<typeof TURN>((resolve) => setImmediate(resolve, TURN));
    const r = await Promise.race([pending, turn]);
    if (r === TURN) return { chunks, done: false, pending };
    if (r.done) return { chunks, done: true, pending: null };
    chunks.push(r.value);
    size += r.value.byteLength;
  }
  return { chunks, done: false, pending: null };
}

/**
 * Pulls the body as the socket drains; a left client cancels it, a failing one cuts the socket.
 * A small body already in memory (a page) goes out with its Content-Length in one write, as
 * Bun.serve sent it, rather than chunked; event streams are never held back for that. (No
 * Promise.race against a promise that lives as long as the response: each race would keep its
 * chunk reachable until the end, the whole download in memory.)
 */
async function pipeBody(body: ReadableStream<Uint8Array>, res: ServerResponse, signal: AbortSignal) {
  const reader = body.getReader();
  // A client that leaves: the pending read settles as done, and nothing more is read.
  const onAbort = () => void reader.cancel(signal.reason).catch(() => {});
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    let pending: ReturnType<Reader["read"]> | null = null;
    if (!res.hasHeader("content-length") && !isEventStream(res)) {
      const start = await readyChunks(reader);
      if (start.done && !signal.aborted) {
        const whole = Buffer.concat(start.chunks);
        res.setHeader("content-length", whole.byteLength);
        res.end(whole);
        return;
      }
      for (const chunk of start.chunks) res.write(chunk);
      pending = start.pending;
    }
    for (let r = await (pending ?? reader.read()); !signal.aborted; r = await reader.read()) {
      if (r.done) {
        res.end();
        return;
      }
      if (!res.write(r.value)) await drained(res);
    }
  } catch (error) {
    // Never res.end() here: the client must see a broken body, not a complete one.
    await reader.cancel(error).catch(() => {});
    res.destroy(error as Error);
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

/**
 * HEAD: the GET's headers, no body. A body that is wholly in memory (a page, a static asset) gives
 * its Content-Length, as the GET would send it; one fed by I/O (a download sets its own length) or
 * an event stream is not waited for. The body is cancelled either way.
 */
async function answerHead(body: ReadableStream<Uint8Array>, res: ServerResponse): Promise<void> {
  const reader = body.getReader();
  if (!res.hasHeader("content-length") && !isEventStream(res)) {
    const start = await readyChunks(reader);
    const size = start.chunks.reduce((n, c) => n + c.byteLength, 0);
    if (start.done) res.setHeader("content-length", size);
  }
  await reader.cancel().catch(() => {});
  res.end();
}

/** Resolves when the socket takes more, or the response closed (the client left). */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

function isEventStream(res: ServerResponse): boolean {
  return String(res.getHeader("content-type") ?? "").startsWith("text/event-stream");
}
