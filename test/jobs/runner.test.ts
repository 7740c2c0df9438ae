import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { listOpenAlerts } from "../../src/db/alerts.ts";
import { findLog, logErrors } from "../../src/db/backup-logs.ts";
import { findDestinationRow } from "../../src/db/destinations.ts";
import { updateUser } from "../../src/db/users.ts";
import { setRunSetting } from "../../src/jobs/run-settings.ts";
import { runBackapp } from "../helpers/cli.ts";
import { build, dir, file } from "../helpers/fs-tree.ts";
import { PASSWORD, useJobWorlds } from "./run-fixture.ts";

const world = useJobWorlds();

describe("runner", () => {
  it("runs a job in a child process: the row completes and the snapshot restores byte for byte", async () => {
    const w = await world();
    const src = join(w.root, "src");
    const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => (i * 7919) % 251);
    build(src, { "a.txt": file("hello"), sub: dir({ "b.bin": file(big) }) });
    const dest = await w.localDestination();
    const jobId = w.job(dest.id, [src]);
    const { logId } = await w.service.runNow(jobId, null);
    const end = await w.finished(logId);
    expect(end.status).toBe("completed");
    const row = findLog(w.db, logId);
    expect(row?.status).toBe("completed");
    expect(row?.snapshotId).toMatch(/^[0-9a-f]{64}$/);
    expect(row?.filesProcessed).toBe(2);
    expect(row?.totalBytes).toBe(5 + big.length);
    expect(row?.endTime).toBeGreaterThanOrEqual(row?.startTime ?? 0);
    const target = join(w.root, "restored");
    const env = { BACKAPP_PASSWORD: PASSWORD };
    const r = await runBackapp(
      ["restore", "--repo", dest.spec.address, row?.snapshotId ?? "", "--target", target],
      { env },
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(readFileSync(join(target, src, "a.txt"), "utf8")).toBe("hello");
    expect(Buffer.compare(readFileSync(join(target, src, "sub", "b.bin")), Buffer.from(big))).toBe(0);
  });

  it("records unreadable files as a partial run with per-file errors and an alert", async () => {
    const w = await world();
    const src = join(w.root, "src");
    build(src, { "ok.txt": file("ok"), "secret.txt": file("no", { mode: 0o000 }) });
    const dest = await w.localDestination();
    const jobId = w.job(dest.id, [src]);
    const { logId } = await w.service.runNow(jobId, null);
    const end = await w.finished(logId);
    if (process.getuid?.() === 0) {
      // root reads everything: the run is simply complete.
      expect(end.status).toBe("completed");
      return;
    }
    expect(end.status).toBe("partial");
    const row = findLog(w.db, logId);
    expect(logErrors(row!).map((e) => e.path)).toEqual([join(src, "secret.txt")]);
    expect(listOpenAlerts(w.db, { configId: jobId }).map((a) => a.kind)).toEqual(["unreadable_files"]);
  });

  it("a failing run raises failed_run once per ongoing problem; the next good run resolves it", async () => {
    const w = await world();
    const dest = await w.localDestination();
    const missing = join(w.root, "not-there");
    const jobId = w.job(dest.id, [missing]);
    for (let i = 0; i < 2; i++) {
      const { logId } = await w.service.runNow(jobId, null);
      const end = await w.finished(logId);
      expect(end.status).toBe("failed");
      expect(end.reason).toMatch(/nothing to back up/);
    }
    const open = listOpenAlerts(w.db, { configId: jobId });
    expect(open.map((a) => [a.kind, a.occurrences])).toEqual([["failed_run", 2]]);
    mkdirSync(missing);
    writeFileSync(join(missing, "f"), "x");
    const { logId } = await w.service.runNow(jobId, null);
    expect((await w.finished(logId)).status).toBe("completed");
    expect(listOpenAlerts(w.db, { configId: jobId })).toEqual([]);
  });
});

describe("runner: hooks and retention", () => {
  it("hooks see the run in BACKAPP_* variables; a failing pre hook stops the run, the post hook still runs", async () => {
    const w = await world();
    const src = join(w.root, "src");
    build(src, { "a.txt": file("a") });
    const dest = await w.localDestination();
    const out = join(w.root, "hook.out");
    const post = {
      command: `printf '%s|%s|%s|%s\\n' "$BACKAPP_JOB_NAME" "$BACKAPP_STATUS" "$BACKAPP_SNAPSHOT_ID" "$BACKAPP_LOG_ID" >> ${out}`,
      timeoutSeconds: 10,
    };
    const good = w.job(dest.id, [src], {
      name: "good job",
      hooks: { pre: { command: "true", timeoutSeconds: 10 }, post },
    });
    const { logId } = await w.service.runNow(good, null);
    await w.finished(logId);
    const snapshot = findLog(w.db, logId)?.snapshotId;
    expect(readFileSync(out, "utf8")).toBe(`good job|completed|${snapshot}|${logId}\n`);

    const bad = w.job(dest.id, [src], {
      name: "bad job",
      hooks: { pre: { command: "echo no disk >&2; exit 4", timeoutSeconds: 10, abortOnFailure: true }, post },
    });
    const second = await w.service.runNow(bad, null);
    const end = await w.finished(second.logId);
    expect(end.status).toBe("failed");
    expect(end.reason).toBe("pre hook failed (exit 4): no disk");
    expect(readFileSync(out, "utf8").split("\n")[1]).toBe(`bad job|failed||${second.logId}`);

    const slow = w.job(dest.id, [src], { hooks: { pre: { command: "sleep 20", timeoutSeconds: 1 } } });
    const third = await w.service.runNow(slow, null);
    expect((await w.finished(third.logId)).reason).toBe("pre hook failed (timed out after 1 s)");
  }, 180_000);

  it("applies the job's retention after each good run, and prunes when the cadence says so", async () => {
    const w = await world();
    const src = join(w.root, "src");
    build(src, { "a.txt": file("a") });
    const dest = await w.localDestination();
    const options = {
      type: "incremental" as const,
      compression: true,
      compressionLevel: 3,
      retentionDays: null,
      retention: { keepLast: 1 },
      bandwidth: null,
    };
    const job = w.job(dest.id, [src], { options });
    const other = w.job(dest.id, [src], { name: "other" });
    for (const j of [other, job, job]) {
      const { logId } = await w.service.runNow(j, null);
      expect((await w.finished(logId)).status).toBe("completed");
      writeFileSync(join(src, "a.txt"), `changed ${logId}`);
    }
    const env = { BACKAPP_PASSWORD: PASSWORD };
    const snaps = JSON.parse(
      (await runBackapp(["snapshots", "--repo", dest.spec.address, "--json"], { env })).stdout,
    );
    // keep-last 1 of this job's snapshots; the other job's snapshot is not its to forget.
    expect(snaps.map((s: { tags: string[] }) => s.tags[0]).sort()).toEqual(
      [`job:${job}`, `job:${other}`].sort(),
    );
    expect(findDestinationRow(w.db, dest.id)?.lastPruneAt).toBeNull();
    setRunSetting(w.db, "pruneEveryMs", 0, Date.now());
    const { logId } = await w.service.runNow(job, null);
    expect((await w.finished(logId)).status).toBe("completed");
    expect(findDestinationRow(w.db, dest.id)?.lastPruneAt).toBeGreaterThan(0);
    const check = await runBackapp(["check", "--repo", dest.spec.address], { env });
    expect(check.code).toBe(0);
  }, 180_000);
});

describe("runner: access at run time", () => {
  it("a job whose owner may no longer read its sources fails without running hooks", async () => {
    const w = await world();
    const src = join(w.root, "src");
    build(src, { "a.txt": file("a") });
    const dest = await w.localDestination();
    const marker = join(w.root, "pre-ran");
    const job = w.job(dest.id, [src], { hooks: { pre: { command: `touch ${marker}`, timeoutSeconds: 5 } } });
    updateUser(w.db, w.userId, { role: "user", allowedRoots: [join(w.root, "elsewhere")] }, Date.now());
    const { logId } = await w.service.runNow(job, null);
    const end = await w.finished(logId);
    expect(end.status).toBe("failed");
    expect(end.reason).toBe(`${src} is outside the folders an administrator allowed for you.`);
    expect(existsSync(marker)).toBe(false);
  }, 30_000);
});
