/**
 * Large objects of a local repository are written bypassing the page cache (local-direct.ts):
 * whatever their length and however their bytes sit in memory, each reads back byte for byte at
 * its exact size, and a backend that cannot write directly writes the same bytes through the cache.
 */
import { randomBytes } from "node:crypto";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LocalBackend } from "../../src/storage/local.ts";
import { DIRECT_MIN, openDirect } from "../../src/storage/local-direct.ts";
import { tempDir } from "../helpers/temp.ts";

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

const SIZES = [DIRECT_MIN, DIRECT_MIN + 1, 4 * 1024 * 1024, 4 * 1024 * 1024 + 4095, 9 * 1024 * 1024 + 123];

describe.each([true, false])("local backend, direct writes %s", (direct) => {
  it("stores large objects of any length exactly, from any offset in memory", async () => {
    const backend = new LocalBackend(tmp.path, { direct });
    const written = new Map<string, Buffer>();
    for (const [i, size] of SIZES.entries()) {
      // A view that starts 7 bytes into its buffer: the bytes are never aligned themselves.
      const bytes = randomBytes(size + 7).subarray(7);
      const name = `data/${i.toString(16).padStart(2, "0")}/object-${size}`;
      await backend.put(name, bytes);
      written.set(name, Buffer.from(bytes));
    }
    for (const [name, bytes] of written) {
      expect(statSync(join(tmp.path, ...name.split("/"))).size).toBe(bytes.byteLength);
      expect(Buffer.from(await backend.get(name)).equals(bytes)).toBe(true);
      const tail = await backend.get(name, { offset: bytes.byteLength - 5000, length: 5000 });
      expect(Buffer.from(tail).equals(bytes.subarray(bytes.byteLength - 5000))).toBe(true);
    }
    // No temporary file is left beside the objects.
    for (const dir of readdirSync(join(tmp.path, "data"))) {
      expect(readdirSync(join(tmp.path, "data", dir)).filter((n) => !n.startsWith("object-"))).toEqual([]);
    }
  });

  it("replaces an object with a shorter one of the same name", async () => {
    const backend = new LocalBackend(tmp.path, { direct });
    await backend.put("data/ab/x", randomBytes(3 * 1024 * 1024));
    const shorter = randomBytes(DIRECT_MIN + 99);
    await backend.put("data/ab/x", shorter);
    expect(Buffer.from(await backend.get("data/ab/x")).equals(shorter)).toBe(true);
  });
});

describe("direct writes on this machine", () => {
  it("are available on the test folder's file system (else the fallback above is all that runs)", async () => {
    const handle = await openDirect(join(tmp.path, "probe"), 0o600);
    // Linux file systems used here (ext4, xfs, tmpfs ≥ 6.6) take O_DIRECT; elsewhere null is right.
    if (process.platform === "linux") expect(handle).not.toBeNull();
    else expect(handle).toBeNull();
    await handle?.close();
  });
});
