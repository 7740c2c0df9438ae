/**
 * Backup and restore throughput on ~500 MB of mixed data against the real repository over a local
 * folder: `bun bench/backup.ts [MB]`. Not a test: prints numbers only.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { backup } from "../src/engine/backup.ts";
import { initRepository, openRepository } from "../src/engine/repository/open.ts";
import { restore } from "../src/engine/restore.ts";
import { createLocalBackend } from "../src/storage/local.ts";

const totalMb = Number(process.argv[2] ?? 500);
const root = mkdtempSync(join(tmpdir(), "backapp-bench-"));
const src = join(root, "src");

/** Half random (incompressible), a quarter text-like, a quarter many small files. */
function makeData(): number {
  let bytes = 0;
  const mb = 1024 * 1024;
  const text = Buffer.from("the quick brown fox jumps over the lazy dog 0123456789\n".repeat(20_000));
  mkdirSync(join(src, "big"), { recursive: true });
  for (let i = 0; bytes < (totalMb * mb) / 2; i++) {
    const b = randomBytes(32 * mb);
    writeFileSync(join(src, "big", `random-${i}.bin`), b);
    bytes += b.length;
  }
  mkdirSync(join(src, "text"));
  for (let i = 0; bytes < (totalMb * mb * 3) / 4; i++) {
    const b = Buffer.concat([text, randomBytes(64 * 1024), text]);
    writeFileSync(join(src, "text", `doc-${i}.txt`), b);
    bytes += b.length;
  }
  for (let d = 0; bytes < totalMb * mb; d++) {
    mkdirSync(join(src, "small", `d${d}`), { recursive: true });
    for (let i = 0; i < 100; i++) {
      const b = randomBytes(1024 + ((i * 7919) % (60 * 1024)));
      writeFileSync(join(src, "small", `d${d}`, `f${i}`), b);
      bytes += b.length;
    }
  }
  return bytes;
}

let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 50);
const rate = (bytes: number, ms: number) => `${(bytes / 1e6 / (ms / 1000)).toFixed(0)} MB/s`;

try {
  const bytes = makeData();
  console.log(`data: ${(bytes / 1e6).toFixed(0)} MB in ${src}`);
  const repoDir = join(root, "repo");
  let repo = await initRepository(createLocalBackend(repoDir), "bench");
  let t = performance.now();
  const first = await backup(repo, [src]);
  let ms = performance.now() - t;
  const s = first.summary;
  console.log(
    `first backup: ${(ms / 1000).toFixed(1)} s, ${rate(bytes, ms)}; files ${s.files_new}, added ${(s.bytes_added / 1e6).toFixed(0)} MB, stored ${(s.bytes_stored / 1e6).toFixed(0)} MB`,
  );
  await repo.close();
  repo = await openRepository(createLocalBackend(repoDir), "bench");
  t = performance.now();
  const second = await backup(repo, [src], { parent: first.snapshot });
  ms = performance.now() - t;
  console.log(
    `unchanged re-backup: ${(ms / 1000).toFixed(2)} s, ${second.summary.files_unmodified} files unmodified, added ${second.summary.bytes_added} B`,
  );
  t = performance.now();
  const full = await backup(repo, [src], { parent: first.snapshot, full: true });
  ms = performance.now() - t;
  console.log(
    `full re-read (all deduplicated): ${(ms / 1000).toFixed(1)} s, ${rate(bytes, ms)}, added ${full.summary.bytes_added} B`,
  );
  t = performance.now();
  const r = await restore(repo, first.snapshot, { target: join(root, "out") });
  ms = performance.now() - t;
  console.log(
    `restore: ${(ms / 1000).toFixed(1)} s, ${rate(r.bytes_written, ms)}, ${r.files_restored} files, ${r.errors.length} errors`,
  );
  t = performance.now();
  const v = await restore(repo, first.snapshot, { target: join(root, "out"), verify: true });
  ms = performance.now() - t;
  console.log(
    `restore rerun with verify (all skipped): ${(ms / 1000).toFixed(1)} s, ${rate(v.bytes_skipped, ms)}, ${v.files_skipped} skipped`,
  );
  await repo.close();
  console.log(`peak RSS: ${(peakRss / 1e6).toFixed(0)} MB`);
} finally {
  clearInterval(sampler);
  rmSync(root, { recursive: true, force: true });
}
