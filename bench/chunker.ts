/** Chunker throughput: `bun bench/chunker.ts [MiB]`. Prints MB/s over random data fed in 1 MiB reads. */
import { randomBytes } from "node:crypto";
import { Chunker } from "../src/engine/chunk/chunker.ts";

const mib = Number(process.argv[2] ?? 512);
const block = new Uint8Array(randomBytes(64 * 1024 * 1024));
const params = { min: 512 * 1024, avg: 1024 * 1024, max: 8 * 1024 * 1024, seed: "00ff".repeat(16) };
for (let round = 0; round < 3; round++) {
  const c = new Chunker(params);
  let chunks = 0;
  const t0 = performance.now();
  for (let done = 0; done < mib; done++) {
    const off = (done % 64) * 1024 * 1024;
    chunks += c.push(block.subarray(off, off + 1024 * 1024)).length;
  }
  chunks += c.finish().length;
  const s = (performance.now() - t0) / 1000;
  console.log(
    `round ${round}: ${mib} MiB in ${s.toFixed(2)} s = ${((mib * 1.048576) / s).toFixed(0)} MB/s, ${chunks} chunks (avg ${(mib / chunks).toFixed(2)} MiB)`,
  );
}
