import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Backend } from "../../src/storage/backend.ts";
import { createLocalBackend } from "../../src/storage/local.ts";
import { withRetry } from "../../src/storage/retry.ts";
import { tempDir } from "../helpers/temp.ts";

/** Reads every chunk, copying each before asking for the next (what reuseChunks requires). */
async function readAll(stream: ReadableStream<Uint8Array>) {
  const reader = stream.getReader();
  const copies: Uint8Array[] = [];
  const buffers = new Set<ArrayBufferLike>();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffers.add(value.buffer);
    copies.push(value.slice());
  }
  return { bytes: Buffer.concat(copies), chunks: copies.length, buffers: buffers.size };
}

describe("local getStream with reuseChunks", () => {
  let dir: ReturnType<typeof tempDir>;
  let backend: Backend;
  const data = randomBytes(5 * 1024 * 1024 + 12_345);
  beforeEach(async () => {
    dir = tempDir();
    backend = withRetry(createLocalBackend(dir.path), { baseDelayMs: 1, attempts: 2 });
    await backend.put("data/ab/pack", data);
  });
  afterEach(async () => {
    await backend.close();
    dir.cleanup();
  });

  it("reads every chunk into one buffer, and the bytes still round-trip over many reuses", async () => {
    for (const [offset, length] of [
      [0, data.length],
      [777, 3 * 1024 * 1024 + 1],
      [data.length - 10, 10],
    ] as const) {
      const s = await backend.getStream("data/ab/pack", { offset, length, reuseChunks: true });
      const got = await readAll(s);
      expect(got.bytes.equals(data.subarray(offset, offset + length))).toBe(true);
      expect(got.buffers).toBe(1);
    }
  });

  it("never overwrites a chunk before the reader asks for the next one", async () => {
    const s = await backend.getStream("data/ab/pack", { reuseChunks: true });
    const reader = s.getReader();
    const first = await reader.read();
    const snapshot = Buffer.from(first.value!.slice());
    // Time for any read-ahead to happen: none may land in the chunk still held.
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(Buffer.from(first.value!).equals(snapshot)).toBe(true);
    expect(snapshot.equals(data.subarray(0, snapshot.length))).toBe(true);
    const second = await reader.read();
    expect(Buffer.from(second.value!).equals(data.subarray(snapshot.length, 2 * snapshot.length))).toBe(true);
    await reader.cancel();
  });

  it("hands out fresh chunks without the option (callers may keep them)", async () => {
    const got = await readAll(await backend.getStream("data/ab/pack"));
    expect(got.bytes.equals(data)).toBe(true);
    expect(got.buffers).toBe(got.chunks);
  });
});
