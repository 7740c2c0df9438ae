import { describe, expect, it } from "vitest";
import { withFaults } from "../../src/storage/faulty.ts";
import { createMemoryBackend, readAll } from "../../src/storage/memory.ts";
import {
  CancelledError,
  NotFoundError,
  PermanentStorageError,
  TransientStorageError,
} from "../../src/util/errors.ts";

const enc = (s: string) => new TextEncoder().encode(s);

async function seeded() {
  const inner = createMemoryBackend();
  await inner.put("data/a", enc("abcdef"));
  await inner.put("data/b", enc("ghijkl"));
  await inner.put("keys/k", enc("key"));
  return inner;
}

describe("withFaults", () => {
  it("fails the Nth matching call, for `times` calls, then passes through", async () => {
    const f = withFaults(await seeded(), [
      { method: "get", match: "data/", after: 1, times: 2, fault: { kind: "transient" } },
    ]);
    await f.get("keys/k"); // does not match
    await f.get("data/a"); // 1st matching: let through
    await expect(f.get("data/a")).rejects.toBeInstanceOf(TransientStorageError);
    await expect(f.get("data/b")).rejects.toBeInstanceOf(TransientStorageError);
    expect(await f.get("data/b")).toEqual(enc("ghijkl"));
    expect(f.calls.get).toBe(5);
    expect(f.injected).toBe(2);
  });

  it("injects each error kind on every method", async () => {
    const f = withFaults(await seeded(), [
      { method: "put", fault: { kind: "permanent" } },
      { method: "stat", fault: { kind: "not-found" } },
      { method: "delete", fault: { kind: "error", make: () => new CancelledError() } },
      { method: "list", fault: { kind: "transient" } },
      { method: "getStream", fault: { kind: "permanent" } },
    ]);
    await expect(f.put("x", enc("1"))).rejects.toBeInstanceOf(PermanentStorageError);
    await expect(f.stat("data/a")).rejects.toBeInstanceOf(NotFoundError);
    await expect(f.delete("data/a")).rejects.toBeInstanceOf(CancelledError);
    const listing = async () => {
      for await (const _ of f.list("data/")) {
        // consume
      }
    };
    await expect(listing()).rejects.toBeInstanceOf(TransientStorageError);
    await expect(f.getStream("data/a")).rejects.toBeInstanceOf(PermanentStorageError);
    expect(f.location).toBe("memory:");
    await f.close();
  });

  it("corrupts reads by flipping one byte", async () => {
    const f = withFaults(await seeded(), [
      { method: "get", match: /a$/, fault: { kind: "corrupt", at: 1 } },
      { method: "getStream", match: (n) => n === "data/b", fault: { kind: "corrupt", at: 2 } },
      { method: "get", match: "keys/k", fault: { kind: "corrupt" } },
    ]);
    const a = await f.get("data/a");
    expect(a[1]).toBe("b".charCodeAt(0) ^ 0xff);
    expect(a[0]).toBe("a".charCodeAt(0));
    const b = await readAll(await f.getStream("data/b"));
    expect(b[2]).toBe("i".charCodeAt(0) ^ 0xff);
    expect(b.byteLength).toBe(6);
    const k = await f.get("keys/k");
    expect(k[1]).toBe("e".charCodeAt(0) ^ 0xff);
    expect(await f.get("data/a")).toEqual(enc("abcdef"));
  });

  it("breaks a stream after some bytes, delivering them first", async () => {
    const f = withFaults(await seeded(), [
      { method: "getStream", fault: { kind: "break-stream", afterBytes: 4 } },
    ]);
    const reader = (await f.getStream("data/a")).getReader();
    const first = await reader.read();
    expect(first.value).toEqual(enc("abcd"));
    await expect(reader.read()).rejects.toBeInstanceOf(TransientStorageError);
  });

  it("loses acknowledgements after the write happened", async () => {
    const inner = await seeded();
    const f = withFaults(inner, [{ method: "delete", fault: { kind: "lost-ack" } }]);
    await expect(f.delete("data/a")).rejects.toBeInstanceOf(TransientStorageError);
    await expect(inner.stat("data/a")).rejects.toBeInstanceOf(NotFoundError);
  });

  it("delays calls, abortably", async () => {
    const f = withFaults(await seeded(), [{ method: "*", times: Infinity, fault: { kind: "delay", ms: 1 } }]);
    expect(await f.stat("data/a")).toEqual({ name: "data/a", size: 6 });
    const slow = withFaults(await seeded(), [{ method: "get", fault: { kind: "delay", ms: 60_000 } }]);
    await expect(slow.get("data/a", { signal: AbortSignal.timeout(5) })).rejects.toBeInstanceOf(
      CancelledError,
    );
  });

  it("fires probabilistic rules from the injected random and accepts rules added later", async () => {
    const draws = [0.9, 0.1, 0.9];
    let i = 0;
    const f = withFaults(await seeded(), {
      random: () => draws[i++] ?? 1,
      rules: [{ method: ["stat", "get"], times: Infinity, probability: 0.5, fault: { kind: "transient" } }],
    });
    await f.stat("data/a");
    await expect(f.get("data/a")).rejects.toBeInstanceOf(TransientStorageError);
    await f.get("data/a");
    f.addRule({ method: "put", fault: { kind: "permanent" } });
    await expect(f.put("z", enc("z"))).rejects.toBeInstanceOf(PermanentStorageError);
    await f.put("z", enc("z"));
    expect(f.injected).toBe(2);
  });
});
