/**
 * Restore probe (development aid, not part of the harness): restores the latest snapshot of a
 * repository in-process with chosen engine options and prints wall and CPU time, to try restore
 * settings without rebuilding. `bun bench/restore-probe.ts REPO TARGET [readers] [batchBlobs] [openWorkers]`
 * (BACKAPP_PASSWORD and S3 variables as for the CLI; set MIMALLOC_PURGE_DELAY=-1 as the CLI does).
 */
import { rmSync } from "node:fs";
import { openRepository } from "../src/engine/repository/open.ts";
import { restore } from "../src/engine/restore.ts";
import { openBackend } from "../src/storage/open.ts";

const [address, target, readers, batch, workers] = process.argv.slice(2);
if (!address || !target) throw new Error("usage: restore-probe.ts REPO TARGET [readers] [batchBlobs]");
const backend = openBackend(address, {
  endpoint: process.env.AWS_ENDPOINT_URL,
  region: process.env.AWS_REGION,
  accessKeyId: process.env.AWS_ACCESS_KEY_ID,
  secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY,
});
const repo = await openRepository(backend, process.env.BACKAPP_PASSWORD ?? "");
const snaps = await repo.listSnapshots();
const latest = snaps[snaps.length - 1]!;
rmSync(target, { recursive: true, force: true });
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const r = await restore(repo, latest, {
  target,
  concurrency: readers ? Number(readers) : undefined,
  batchBlobs: batch ? Number(batch) : undefined,
  openWorkers: workers ? Number(workers) : undefined,
});
const s = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
console.log(
  `restore ${s.toFixed(2)} s, ${(r.bytes_written / 1e6 / s).toFixed(1)} MB/s, CPU user ${(cpu.user / 1e6).toFixed(2)} s sys ${(cpu.system / 1e6).toFixed(2)} s, errors ${r.errors.length}, peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`,
);
await repo.close();
rmSync(target, { recursive: true, force: true });
