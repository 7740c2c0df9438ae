/**
 * An S3 endpoint that closes a response before the bytes its Content-Length promised (a proxy or
 * server dropping out): get and getStream fail with a transient error — which the retry wrapper
 * absorbs — instead of handing the caller a short object it would take for a damaged one.
 */
import { createServer, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createS3Backend } from "../../src/storage/s3.ts";
import { TransientStorageError } from "../../src/util/errors.ts";

let server: Server;
let endpoint: string;

beforeAll(async () => {
  // Every request gets a 200 promising 1000 bytes and delivering 400, then the socket closes.
  server = createServer((socket) => {
    socket.once("data", () => {
      socket.write(
        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n",
      );
      socket.end(Buffer.alloc(400, 7));
    });
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("no port");
  endpoint = `http://127.0.0.1:${address.port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function backend() {
  return createS3Backend({
    endpoint,
    bucket: "b",
    region: "us-east-1",
    accessKeyId: "S3RVER",
    secretAccessKey: "S3RVER",
    prefix: "repo",
  });
}

describe("a short S3 response body", () => {
  it("fails get with a transient error", async () => {
    const b = backend();
    try {
      const err = await b.get("data/ab/x").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TransientStorageError);
    } finally {
      await b.close();
    }
  });

  it("fails a getStream read with a transient error", async () => {
    const b = backend();
    try {
      const err = await (async () => {
        const reader = (await b.getStream("data/ab/x")).getReader();
        for (;;) if ((await reader.read()).done) return null;
      })().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TransientStorageError);
    } finally {
      await b.close();
    }
  });
});
