/** withUploadCount over a real local backend: every stored byte is counted once, reads are not, a failed put counts nothing. */
import { afterEach, describe, expect, it } from "vitest";
import { withUploadCount } from "../../src/jobs/upload-count.ts";
import { createLocalBackend } from "../../src/storage/local.ts";
import { tempDir } from "../helpers/temp.ts";

const dirs: { cleanup(): void }[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});

describe("withUploadCount", () => {
  it("counts bytes and streams put, not reads, and keeps the backend's behaviour", async () => {
    const dir = tempDir("backapp-upcount-");
    dirs.push(dir);
    let total = 0;
    const backend = withUploadCount(createLocalBackend(dir.path), (n) => {
      total += n;
    });
    await backend.put("data/aa/one", new Uint8Array(1000).fill(1));
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new Uint8Array(300));
        c.enqueue(new Uint8Array(200));
        c.close();
      },
    });
    await backend.put("data/bb/two", stream);
    expect(total).toBe(1500);
    expect((await backend.get("data/aa/one")).byteLength).toBe(1000);
    expect((await backend.get("data/bb/two")).byteLength).toBe(500);
    expect(total).toBe(1500);
    await expect(backend.put("../escape", new Uint8Array(10))).rejects.toThrow();
    expect(total).toBe(1500);
  });
});
