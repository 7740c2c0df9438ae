/**
 * Repository layer numbers (not a test): saveBlob throughput on 256 MiB of mixed data with 0 and 2
 * seal workers, and the memory of the in-memory index per million blobs.
 * Usage: bun bench/repository.ts [MiB] [WORKERSxWINDOW[r] | index]   (r: random, incompressible data)
 */
import { randomBytes } from "node:crypto";
import { BlobIndex } from "../src/engine/repository/blob-index.ts";
import { initRepository } from "../src/engine/repository/open.ts";
import { createMemoryBackend } from "../src/storage/memory.ts";

const MiB = 1024 * 1024;
const total = Number(process.argv[2] ?? 256) * MiB;

/** 1 MiB blocks: one third random, one third text, one third mixed halves. */
function block(i: number, random: boolean): Uint8Array {
  const b = new Uint8Array(MiB);
  if (random || i % 3 === 0) return new Uint8Array(randomBytes(MiB));
  const text = new TextEncoder().encode(
    `${i} the quick brown fox jumps over the lazy dog; lorem ipsum ${i * 7}\n`,
  );
  for (let k = 0; k < MiB; k++) b[k] = text[k % text.length]!;
  if (i % 3 === 2) b.set(randomBytes(MiB / 2), MiB / 2);
  return b;
}

/** `window` saveBlob calls kept in flight, as an archiver pipelining chunks does. */
async function throughput(workers: number, window: number, random: boolean): Promise<void> {
  const backend = createMemoryBackend();
  const repo = await initRepository(backend, "bench", { workers, scrypt: { N: 1024, r: 8, p: 1 } });
  const blocks = Array.from({ length: 24 }, (_, i) => block(i, random));
  const started = performance.now();
  let stored = 0;
  let hashMs = 0;
  const inflight = new Set<Promise<unknown>>();
  for (let done = 0, i = 0; done < total; done += MiB, i++) {
    const b = blocks[i % blocks.length]!;
    b[0] = i & 255; // distinct blobs, no dedup
    b[1] = i >> 8;
    const h = performance.now();
    const id = repo.blobId(b);
    hashMs += performance.now() - h;
    const p: Promise<unknown> = repo
      .saveBlob("data", id, b.slice())
      .then((r) => {
        stored += r.storedBytes;
      })
      .finally(() => inflight.delete(p));
    inflight.add(p);
    if (inflight.size >= window) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  await repo.flush();
  const s = (performance.now() - started) / 1000;
  console.log(
    `saveBlob ${random ? "random" : "mixed"}, ${workers} worker(s), ${window} in flight: ${(total / MiB / s).toFixed(0)} MiB/s over ${total / MiB} MiB ` +
      `(stored ${(stored / MiB).toFixed(0)} MiB, ${repo.index.packs().length} packs, blobId ${hashMs.toFixed(0)} ms, ` +
      `rss ${(process.memoryUsage().rss / MiB).toFixed(0)} MiB)`,
  );
  await repo.close();
}

function heapMiB(): number {
  Bun.gc(true);
  return process.memoryUsage().heapUsed / MiB + process.memoryUsage().arrayBuffers / MiB;
}

function indexMemory(n: number): void {
  const ids = Array.from({ length: 1000 }, () => randomBytes(32));
  const before = heapMiB();
  const index = new BlobIndex();
  const pack = index.addPack({ id: "0".repeat(64), size: 0, salt: new Uint8Array(16) });
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    const id = ids[i % 1000]!;
    id.writeUInt32LE(i, 0);
    index.add(pack, {
      type: "data",
      id: id.toString("hex"),
      offset: i,
      length: 1,
      rawLength: 1,
      compression: 1,
    });
  }
  const addMs = performance.now() - started;
  const after = heapMiB();
  const look = performance.now();
  let hits = 0;
  for (let i = 0; i < n; i += 10) {
    const id = ids[i % 1000]!;
    id.writeUInt32LE(i, 0);
    if (index.has("data", id.toString("hex"))) hits++;
  }
  const lookNs = ((performance.now() - look) * 1e6) / (n / 10);
  console.log(
    `BlobIndex: ${index.size} entries, ${(after - before).toFixed(0)} MiB (${(((after - before) * MiB) / n).toFixed(0)} B/entry), ` +
      `add ${addMs.toFixed(0)} ms, lookup ${lookNs.toFixed(0)} ns, hits ${hits}`,
  );
}

function naiveMapMemory(n: number): void {
  const before = heapMiB();
  const m = new Map<string, [number, number, number, number, number]>();
  for (let i = 0; i < n; i++) m.set(randomBytes(32).toString("hex"), [0, i, 1, 1, 1]);
  const after = heapMiB();
  console.log(
    `for comparison, Map<hex string, tuple>: ${(after - before).toFixed(0)} MiB per ${m.size} entries`,
  );
}

// Each configuration in a fresh process, so JIT and heap state do not leak between them.
const mode = process.argv[3];
if (mode === "index") {
  indexMemory(1_000_000);
  naiveMapMemory(1_000_000);
} else if (mode) {
  const [workers, window] = mode.replace("r", "").split("x").map(Number);
  await throughput(workers!, window!, mode.endsWith("r"));
} else {
  for (const m of ["2x8", "2x1", "0x1", "2x8r", "2x1r", "0x1r", "index"]) {
    Bun.spawnSync([process.execPath, import.meta.path, String(total / MiB), m], { stdout: "inherit" });
  }
}
