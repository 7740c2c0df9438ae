/**
 * Cancel mid-run, and the run queue: two jobs into one repository take turns, jobs into two
 * repositories run side by side. Real child processes, real repositories.
 */
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { findLog } from "../../src/db/backup-logs.ts";
import type { BusEvent } from "../../src/events/types.ts";
import { runBackapp } from "../helpers/cli.ts";
import { build, file } from "../helpers/fs-tree.ts";
import { type JobWorld, PASSWORD, useJobWorlds } from "./run-fixture.ts";

const world = useJobWorlds();

/** Records run.started / run.finished in the order the bus delivered them. */
function timeline(w: JobWorld) {
  const seen: string[] = [];
  const sub = w.bus.subscribe({ filter: (e) => e.type === "run.started" || e.type === "run.finished" });
  void (async () => {
    for (let e = await sub.next(); e; e = await sub.next())
      seen.push(`${e.type === "run.started" ? "start" : "end"}:${e.logId}`);
  })();
  return seen;
}

const slowPre = { pre: { command: "sleep 1.5", timeoutSeconds: 30, abortOnFailure: true } };

describe("runner control", () => {
  it("cancel mid-run: status cancelled, no snapshot, the repository checks clean", async () => {
    const w = await world();
    const src = join(w.root, "src");
    build(src, { "big.bin": file(randomBytes(6 * 1024 * 1024)) });
    const dest = await w.localDestination();
    // 64 KiB/s upload: the backup is still sending its first pack when it is cancelled.
    const jobId = w.job(dest.id, [src], {
      options: {
        type: "incremental",
        compression: true,
        compressionLevel: 3,
        retentionDays: null,
        retention: {},
        bandwidth: 64,
      },
    });
    const progress = w.bus.subscribe({ filter: (e: BusEvent) => e.type === "run.progress" });
    const { logId } = await w.service.runNow(jobId, { id: "x", email: "ops@example.com" });
    expect(await progress.next()).not.toBeNull();
    progress.close();
    expect(findLog(w.db, logId)?.status).toBe("running");
    expect(await w.service.cancel(logId, { id: "x", email: "ops@example.com" })).toBe(true);
    const end = await w.finished(logId);
    expect(end.status).toBe("cancelled");
    const row = findLog(w.db, logId);
    expect(row?.snapshotId).toBeNull();
    expect(row?.reason).toBe("cancelled by ops@example.com");
    expect(await w.service.cancel(logId, null)).toBe(false);
    const env = { BACKAPP_PASSWORD: PASSWORD };
    const snaps = await runBackapp(["snapshots", "--repo", dest.spec.address, "--json"], { env });
    expect(JSON.parse(snaps.stdout)).toEqual([]);
    const check = await runBackapp(["check", "--repo", dest.spec.address], { env });
    expect(check.stderr).not.toMatch(/error|damage/i);
    expect(check.code).toBe(0);
  }, 180_000);

  it("stopping the service cancels the running and queued runs and stops the scheduler", async () => {
    const w = await world();
    const src = join(w.root, "src");
    build(src, { "a.txt": file("a") });
    const dest = await w.localDestination();
    const long = { pre: { command: "sleep 30", timeoutSeconds: 60, abortOnFailure: true } };
    const a = w.job(dest.id, [src], { hooks: long });
    const b = w.job(dest.id, [src]);
    const started = w.bus.subscribe({ filter: (e: BusEvent) => e.type === "run.started" });
    const first = await w.service.runNow(a, null);
    const second = await w.service.runNow(b, null);
    await started.next();
    started.close();
    await w.service.stop({ drainMs: 10_000 });
    for (const id of [first.logId, second.logId]) {
      expect(findLog(w.db, id)).toMatchObject({ status: "cancelled", reason: "the server stopped" });
    }
    await expect(w.service.runNow(a, null)).rejects.toThrow(/shutting down/);
  }, 180_000);

  it("a queued run cancels at once", async () => {
    const w = await world();
    const src = join(w.root, "src");
    build(src, { "a.txt": file("a") });
    const dest = await w.localDestination();
    const a = w.job(dest.id, [src], { hooks: slowPre });
    const b = w.job(dest.id, [src]);
    const first = await w.service.runNow(a, null);
    const second = await w.service.runNow(b, null);
    expect(findLog(w.db, second.logId)?.status).toBe("queued");
    expect(await w.service.cancel(second.logId, null)).toBe(true);
    expect((await w.finished(second.logId)).status).toBe("cancelled");
    expect((await w.finished(first.logId)).status).toBe("completed");
  }, 180_000);

  it("a job never overlaps itself: run now while it runs answers the same run", async () => {
    const w = await world();
    const src = join(w.root, "src");
    build(src, { "a.txt": file("a") });
    const dest = await w.localDestination();
    const job = w.job(dest.id, [src], { hooks: slowPre });
    const one = await w.service.runNow(job, null);
    const two = await w.service.runNow(job, null);
    expect(two.logId).toBe(one.logId);
    expect((await w.finished(one.logId)).status).toBe("completed");
  }, 180_000);

  it("two jobs into one repository take turns; two repositories run side by side", async () => {
    const w = await world();
    const src = join(w.root, "src");
    build(src, { "a.txt": file("a") });
    writeFileSync(join(w.root, "b.txt"), "b");
    const repo1 = await w.localDestination("one");
    const repo2 = await w.localDestination("two");
    // A second destination onto repo1's repository (same repository id) shares its queue.
    const repo1Again = w.attachDestination(repo1.spec, await repoId(w, repo1.id));
    const seen = timeline(w);
    const sameA = w.job(repo1.id, [src], { hooks: slowPre });
    const sameB = w.job(repo1Again, [join(w.root, "b.txt")], { hooks: slowPre });
    const a = (await w.service.runNow(sameA, null)).logId;
    const b = (await w.service.runNow(sameB, null)).logId;
    await w.finished(a);
    await w.finished(b);
    expect(seen.indexOf(`end:${a}`)).toBeLessThan(seen.indexOf(`start:${b}`));

    seen.length = 0;
    const other = w.job(repo2.id, [src], { hooks: slowPre });
    const c = (await w.service.runNow(sameA, null)).logId;
    const d = (await w.service.runNow(other, null)).logId;
    await w.finished(c);
    await w.finished(d);
    // Both started before either ended.
    const firstEnd = Math.min(seen.indexOf(`end:${c}`), seen.indexOf(`end:${d}`));
    expect(seen.indexOf(`start:${c}`)).toBeLessThan(firstEnd);
    expect(seen.indexOf(`start:${d}`)).toBeLessThan(firstEnd);
  }, 180_000);
});

async function repoId(w: JobWorld, destinationId: string): Promise<string> {
  const { findDestinationRow } = await import("../../src/db/destinations.ts");
  return findDestinationRow(w.db, destinationId)?.repositoryId ?? "";
}
