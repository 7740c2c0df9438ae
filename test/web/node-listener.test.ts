/**
 * The node:http listener (src/web/node-listener.ts) on a real loopback port, read over raw
 * sockets: a streamed body keeps the handler's Content-Length, a page goes out whole with its
 * length, an event stream's head arrives before its first event, a body that errors mid-way is
 * cut short (never a clean end), a client that leaves cancels the body, and an early answer to a
 * large upload reaches the client.
 */
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Listener, listenHttp } from "../../src/web/node-listener.ts";

const SIZE = 4 * 1024 * 1024;
const CHUNK = 64 * 1024;
let listener: Listener;
let cancelled = 0;
let releaseEvent: () => void = () => {};

/** A stream fed by the event loop (as a child's pipe is), `chunks` of CHUNK bytes, then `end`. */
function slowStream(chunks: number, end: "close" | "error"): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>(
    {
      async pull(c) {
        await new Promise((r) => setImmediate(r));
        if (i < chunks) c.enqueue(new Uint8Array(CHUNK).fill(i++ % 251));
        else if (end === "close") c.close();
        else c.error(new Error("integrity error mid-stream"));
      },
      cancel() {
        cancelled++;
      },
    },
    { highWaterMark: 0 },
  );
}

function handler(request: Request): Response | Promise<Response> {
  const path = new URL(request.url).pathname;
  const sized = { headers: { "content-length": String(SIZE) } };
  if (path === "/stream") return new Response(slowStream(SIZE / CHUNK, "close"), sized);
  if (path === "/broken") return new Response(slowStream(8, "error"), sized);
  if (path === "/endless") return new Response(slowStream(Number.MAX_SAFE_INTEGER, "close"), sized);
  if (path === "/page")
    return new Response("<p>hello</p>".repeat(5000), { headers: { "content-type": "text/html" } });
  if (path === "/upload") return new Response("too large", { status: 413 });
  if (path === "/events") {
    const body = new ReadableStream<Uint8Array>({
      async start(c) {
        await new Promise<void>((r) => {
          releaseEvent = r;
        });
        c.enqueue(new TextEncoder().encode("data: one\n\n"));
        c.close();
      },
    });
    return new Response(body, { headers: { "content-type": "text/event-stream" } });
  }
  return new Response("not found", { status: 404 });
}

/** Sends `head` (+ `body`), returns the response head once it is in, and the rest when the socket closes. */
function exchange(head: string, body?: Uint8Array) {
  const socket = connect(listener.port, "127.0.0.1");
  socket.write(head);
  if (body) socket.write(body);
  let buffered = Buffer.alloc(0);
  let headEnd = -1;
  let onHead: (h: string) => void = () => {};
  const gotHead = new Promise<string>((r) => {
    onHead = r;
  });
  socket.on("data", (d: Buffer) => {
    buffered = Buffer.concat([buffered, d]);
    if (headEnd >= 0) return;
    headEnd = buffered.indexOf("\r\n\r\n");
    if (headEnd >= 0) onHead(buffered.subarray(0, headEnd).toString("latin1"));
  });
  socket.on("error", () => {});
  const closed = new Promise<Buffer>((r) => socket.on("close", () => r(buffered.subarray(headEnd + 4))));
  return { socket, head: gotHead, body: closed };
}

const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`;

function header(head: string, name: string): string | null {
  const line = head.split("\r\n").find((l) => l.toLowerCase().startsWith(`${name}:`));
  return line ? line.slice(name.length + 1).trim() : null;
}

async function until(what: string, ok: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

beforeAll(async () => {
  listener = await listenHttp({ hostname: "127.0.0.1", port: 0, fetch: handler });
});
afterAll(async () => {
  await listener.stop(true);
});

describe("node:http listener", () => {
  it("keeps a streamed body's Content-Length and sends it unchunked, whole", async () => {
    const x = exchange(get("/stream"));
    const head = await x.head;
    expect(header(head, "content-length")).toBe(String(SIZE));
    expect(header(head, "transfer-encoding")).toBeNull();
    expect((await x.body).length).toBe(SIZE);
  });

  it("sends a page whole with its length", async () => {
    const x = exchange(get("/page"));
    const head = await x.head;
    expect(header(head, "content-length")).toBe(String("<p>hello</p>".length * 5000));
    expect(header(head, "transfer-encoding")).toBeNull();
    expect((await x.body).toString()).toBe("<p>hello</p>".repeat(5000));
  });

  it("answers HEAD on a page with the GET's length and no body", async () => {
    const x = exchange(get("/page").replace("GET", "HEAD"));
    const head = await x.head;
    expect(head).toMatch(/^HTTP\/1\.1 200/);
    expect(header(head, "content-length")).toBe(String("<p>hello</p>".length * 5000));
    expect((await x.body).length).toBe(0);
  });

  it("answers HEAD on a stream with the handler's length, without reading the stream", async () => {
    const before = cancelled;
    const x = exchange(get("/endless").replace("GET", "HEAD"));
    expect(header(await x.head, "content-length")).toBe(String(SIZE));
    expect((await x.body).length).toBe(0);
    await until("the body to be cancelled", () => cancelled > before);
  });

  it("cuts a body that errors mid-way short of its Content-Length", async () => {
    const x = exchange(get("/broken"));
    expect(header(await x.head, "content-length")).toBe(String(SIZE));
    const body = await x.body;
    expect(body.length).toBeLessThan(SIZE);
    expect(body.length).toBeLessThanOrEqual(8 * CHUNK);
  });

  it("cancels the body when the client leaves", async () => {
    const before = cancelled;
    const x = exchange(get("/endless"));
    await x.head;
    x.socket.destroy();
    await until("the body to be cancelled", () => cancelled > before);
    expect(cancelled).toBe(before + 1);
  });

  it("sends an event stream's head before its first event", async () => {
    const x = exchange(get("/events"));
    const head = await x.head;
    expect(head).toMatch(/^HTTP\/1\.1 200/);
    expect(header(head, "content-type")).toBe("text/event-stream");
    releaseEvent();
    expect((await x.body).toString()).toContain("data: one");
  });

  it("gets an early answer to a large upload to the client (no reset)", async () => {
    const big = new Uint8Array(2 * 1024 * 1024);
    const x = exchange(
      `POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${big.length}\r\nConnection: close\r\n\r\n`,
      big,
    );
    expect(await x.head).toMatch(/^HTTP\/1\.1 413/);
    expect((await x.body).toString()).toContain("too large");
  });
});
