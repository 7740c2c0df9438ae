/** SealPool back-pressure: waits end, and leave nothing attached to the caller's signal. */
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { hmacSha256Hex } from "../../../src/engine/crypto/aead.ts";
import type { FinishedPack } from "../../../src/engine/repository/seal-core.ts";
import { SealPool } from "../../../src/engine/repository/seal-pool.ts";

/** An AbortSignal that counts its live "abort" listeners (adds minus removes and firings). */
function countingSignal() {
  const signal = new AbortController().signal;
  let live = 0;
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  const wrapped = new Map<unknown, EventListener>();
  signal.addEventListener = ((type: string, fn: EventListener, opts?: AddEventListenerOptions) => {
    live++;
    const w: EventListener = (ev) => {
      live--;
      wrapped.delete(fn);
      fn(ev);
    };
    wrapped.set(fn, w);
    add(type, w, opts);
  }) as typeof signal.addEventListener;
  signal.removeEventListener = ((type: string, fn: EventListener) => {
    const w = wrapped.get(fn);
    if (!w) return;
    wrapped.delete(fn);
    live--;
    remove(type, w);
  }) as typeof signal.removeEventListener;
  return { signal, live: () => live };
}

describe("SealPool", () => {
  it("removes the abort listener of every wait for room", async () => {
    const mac = randomBytes(32);
    const stored: FinishedPack[] = [];
    const pool = new SealPool({
      encKey: randomBytes(32),
      macKey: mac,
      packSize: 64 * 1024,
      workers: 0,
      maxQueuedBytes: 16 * 1024,
      maxPendingPacks: 1,
      maxUploads: 1,
      // A slow upload: submits wait for room again and again.
      onPack: async (pack) => {
        await new Promise((go) => setTimeout(go, 1));
        stored.push(pack);
      },
    });
    const { signal, live } = countingSignal();
    const saves: Promise<number>[] = [];
    for (let i = 0; i < 200; i++) {
      const blob = randomBytes(12 * 1024);
      saves.push(pool.submit("data", hmacSha256Hex(mac, blob), blob, 0, signal));
      if (i % 8 === 0) await Promise.all(saves.splice(0));
    }
    await Promise.all(saves);
    await pool.flush(signal);
    pool.close();
    expect(stored.length).toBeGreaterThan(10);
    expect(live()).toBe(0);
  });

  it("seals small blobs in batches: each save settles with its own size or error", async () => {
    const mac = randomBytes(32);
    const stored: FinishedPack[] = [];
    const pool = new SealPool({
      encKey: randomBytes(32),
      macKey: mac,
      packSize: 256 * 1024,
      workers: 1,
      maxQueuedBytes: 4 * 1024 * 1024,
      maxPendingPacks: 2,
      maxUploads: 2,
      onPack: async (pack) => {
        stored.push(pack);
      },
    });
    const blobs = Array.from({ length: 500 }, (_, i) => randomBytes(20 + ((i * 37) % 3000)));
    const ids = blobs.map((b) => hmacSha256Hex(mac, b));
    const saves = blobs.map((b, i) => pool.submit(i % 10 === 0 ? "tree" : "data", ids[i]!, b, 3));
    // One blob whose id is not its content's: only that save fails.
    const bad = pool.submit("data", "00".repeat(32), randomBytes(100), 3);
    const results = await Promise.all(saves);
    await expect(bad).rejects.toThrow(/does not match its content/);
    for (const r of results) expect(r).toBeGreaterThan(0);
    await pool.flush();
    await pool.close();
    const packed = stored.flatMap((p) => p.entries.map((e) => `${e.type}:${e.id}`)).sort();
    expect(packed).toEqual(ids.map((id, i) => `${i % 10 === 0 ? "tree" : "data"}:${id}`).sort());
  });
});
