import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readAll } from "../../src/storage/memory.ts";
import { withRetry } from "../../src/storage/retry.ts";
import { createS3Backend } from "../../src/storage/s3.ts";
import { mapS3Error } from "../../src/storage/s3-errors.ts";
import {
  CancelledError,
  NotFoundError,
  PermanentStorageError,
  TransientStorageError,
  ValidationError,
} from "../../src/util/errors.ts";
import { startS3rver, type TestS3, uniqueBucketName } from "../helpers/s3rver.ts";

const enc = (s: string) => new TextEncoder().encode(s);

describe("S3 backend specifics (s3rver)", () => {
  let s3: TestS3;
  beforeAll(async () => {
    s3 = await startS3rver();
  });
  afterAll(async () => {
    await s3.stop();
  });

  it("fails permanently on unknown credentials, naming the bucket but no secret", async () => {
    const b = createS3Backend({ ...s3, accessKeyId: "NOPE", secretAccessKey: "TOPSECRET", prefix: "r" });
    const err = await b.put("config", enc("x")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentStorageError);
    expect((err as Error).message).toContain(s3.bucket);
    expect((err as Error).message).toMatch(/denied/);
    expect((err as Error).message).not.toMatch(/TOPSECRET|NOPE/);
    expect(b.location).not.toMatch(/TOPSECRET|NOPE/);
    await b.close();
  });

  it("fails permanently on a missing bucket for every call", async () => {
    const missing = uniqueBucketName("missing");
    const b = createS3Backend({ ...s3, bucket: missing, prefix: "" });
    for (const call of [
      () => b.put("a", enc("x")),
      () => b.get("a"),
      () => b.stat("a"),
      async () => {
        for await (const _ of b.list("")) {
          // consume
        }
      },
    ]) {
      const err = await call().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PermanentStorageError);
      expect((err as Error).message).toContain(`bucket "${missing}" does not exist`);
    }
    await b.close();
  });

  it("reports a refused connection as transient, and the retry wrapper gives up in bounds", async () => {
    const b = createS3Backend({ ...s3, endpoint: "http://127.0.0.1:9", prefix: "" });
    await expect(b.stat("a")).rejects.toBeInstanceOf(TransientStorageError);
    const retried = withRetry(b, { attempts: 2, sleep: async () => {} });
    await expect(retried.get("a")).rejects.toThrow(/gave up after 2 attempts/);
    await retried.close();
  });

  it("keeps repositories under different prefixes apart and lists names without the prefix", async () => {
    const bucket = uniqueBucketName("prefixes");
    await s3.createBucket(bucket);
    const one = createS3Backend({ ...s3, bucket, prefix: "/team/one/" });
    const two = createS3Backend({ ...s3, bucket, prefix: "team/two" });
    const whole = createS3Backend({ ...s3, bucket, prefix: "" });
    await one.put("config", enc("1"));
    await two.put("config", enc("2"));
    expect(new TextDecoder().decode(await one.get("config"))).toBe("1");
    const list = async (b: typeof one) => {
      const out: string[] = [];
      for await (const i of b.list("")) out.push(i.name);
      return out.sort();
    };
    expect(await list(one)).toEqual(["config"]);
    expect(await list(whole)).toEqual(["team/one/config", "team/two/config"]);
    expect(one.location).toMatch(new RegExp(`^s3://${bucket}/team/one at 127\\.0\\.0\\.1:\\d+$`));
    expect(whole.location).toMatch(new RegExp(`^s3://${bucket} at `));
    await Promise.all([one.close(), two.close(), whole.close()]);
  });

  it("deletes many objects in batches; missing ones are fine", async () => {
    const b = createS3Backend({ ...s3, prefix: "bulk" });
    const names = Array.from({ length: 30 }, (_, i) => `d/${i}`);
    for (const n of [...names, "d/keep"]) await b.put(n, enc(n));
    // s3rver deletes a batch in parallel and races removing a folder that empties; keep one.
    await b.deleteMany([...names, "d/never"]);
    const left: string[] = [];
    for await (const i of b.list("d/")) left.push(i.name);
    expect(left).toEqual(["d/keep"]);
    await expect(b.deleteMany(["ok"], { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(
      CancelledError,
    );
    await b.close();
  });

  it("stores nothing when a streamed multipart source fails, keeping the source's error kind", async () => {
    const b = createS3Backend({ ...s3, prefix: "fail", partSize: 5 * 1024 * 1024, queueSize: 1 });
    let sent = 0;
    const source = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent >= 12 * 1024 * 1024) return c.error(new TransientStorageError("disk read failed"));
        sent += 1024 * 1024;
        c.enqueue(new Uint8Array(1024 * 1024));
      },
    });
    await expect(b.put("obj", source)).rejects.toBeInstanceOf(TransientStorageError);
    await expect(b.stat("obj")).rejects.toBeInstanceOf(NotFoundError);
    await expect(b.getStream("obj", { length: 0 })).rejects.toBeInstanceOf(NotFoundError);
    await b.put("small", enc("abc"));
    expect(await readAll(await b.getStream("small", { length: 0 }))).toEqual(new Uint8Array(0));
    expect(await readAll(await b.getStream("small", { offset: 3 }))).toEqual(new Uint8Array(0));
    await expect(b.get("obj", { length: -1 })).rejects.toBeInstanceOf(ValidationError);
    expect(() => createS3Backend({ bucket: "", prefix: "" })).toThrow(ValidationError);
    await b.close();
  });
});

/** A tiny S3 impostor for answers s3rver cannot give: throttling, 5xx, and header capture. */
describe("S3 backend against scripted HTTP answers", () => {
  let server: ReturnType<typeof Bun.serve>;
  let answer: { status: number; body: string; headers?: Record<string, string> };
  const seen: { method: string; url: string; headers: Headers; body: string }[] = [];
  beforeAll(() => {
    server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(req) {
        seen.push({ method: req.method, url: req.url, headers: req.headers, body: await req.text() });
        if (req.method === "HEAD" && /^\/scripted\/?$/.test(new URL(req.url).pathname))
          return new Response(null); // bucket exists
        return new Response(answer.body, {
          status: answer.status,
          headers: { "content-type": "application/xml", ...answer.headers },
        });
      },
    });
  });
  afterAll(() => server.stop(true));
  const backend = () =>
    createS3Backend({
      bucket: "scripted",
      prefix: "p",
      endpoint: `http://127.0.0.1:${server.port}`,
      accessKeyId: "AK",
      secretAccessKey: "SK",
    });
  const xmlError = (code: string) =>
    `<?xml version="1.0"?><Error><Code>${code}</Code><Message>m</Message></Error>`;

  it("maps throttling and server errors to transient, denial to permanent", async () => {
    const b = backend();
    const cases: [number, string, unknown][] = [
      [503, "SlowDown", TransientStorageError],
      [500, "InternalError", TransientStorageError],
      [429, "TooManyRequests", TransientStorageError],
      [403, "AccessDenied", PermanentStorageError],
      [400, "InvalidArgument", PermanentStorageError],
      [404, "NoSuchKey", NotFoundError],
    ];
    for (const [status, code, kind] of cases) {
      answer = { status, body: xmlError(code) };
      await expect(b.get("obj"), code).rejects.toBeInstanceOf(kind);
    }
    answer = { status: 404, body: "" };
    await expect(b.stat("obj")).rejects.toBeInstanceOf(NotFoundError);
    answer = { status: 404, body: xmlError("NoSuchKey") };
    await b.delete("obj");
    await b.close();
  });

  it("sends Content-MD5 with DeleteObjects and reports refused keys", async () => {
    const b = backend();
    answer = { status: 200, body: `<?xml version="1.0"?><DeleteResult></DeleteResult>` };
    seen.length = 0;
    await b.deleteMany(["a", "b"]);
    const req = seen.find((r) => r.method === "POST");
    expect(req?.headers.get("content-md5")).toBe(
      createHash("md5")
        .update(req?.body ?? "")
        .digest("base64"),
    );
    expect(req?.body).toContain("<Key>p/a</Key>");
    answer = {
      status: 200,
      body: `<?xml version="1.0"?><DeleteResult><Error><Key>p/a</Key><Code>AccessDenied</Code><Message>no</Message></Error></DeleteResult>`,
    };
    await expect(b.deleteMany(["a"])).rejects.toBeInstanceOf(PermanentStorageError);
    await b.close();
  });

  it("maps socket-level errors", () => {
    const net = (code: string, message = code) => Object.assign(new Error(message), { code });
    expect(mapS3Error("c", "b", net("ECONNRESET"))).toBeInstanceOf(TransientStorageError);
    expect(mapS3Error("c", "b", new Error("socket hang up"))).toBeInstanceOf(TransientStorageError);
    expect(mapS3Error("c", "b", Object.assign(new Error("t"), { name: "TimeoutError" }))).toBeInstanceOf(
      TransientStorageError,
    );
    expect(mapS3Error("c", "b", Object.assign(new Error("a"), { name: "AbortError" }))).toBeInstanceOf(
      CancelledError,
    );
    const noCredentials = mapS3Error(
      "c",
      "b",
      Object.assign(new Error("x"), { name: "CredentialsProviderError" }),
    );
    expect(noCredentials).toBeInstanceOf(PermanentStorageError);
    expect(noCredentials.message).toBe(
      "c: no S3 credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or an AWS profile)",
    );
    expect(mapS3Error("c", "b", new NotFoundError("gone"))).toBeInstanceOf(NotFoundError);
  });
});
