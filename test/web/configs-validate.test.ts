/**
 * POST /api/configs/:id/validate on real temp trees and a real local repository: counts honour
 * the job's excludes, a missing source and an unreachable destination are named, the schedule
 * comes with its next five runs, and the scan is bounded (budget) and cancellable (signal).
 */
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { type AddressInfo, createServer, type Socket } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { principalOf } from "../../src/auth/permissions.ts";
import { findConfigRecord } from "../../src/db/backup-configs.ts";
import { insertDestination } from "../../src/db/destinations.ts";
import { findUserById } from "../../src/db/users.ts";
import type { ConfigJson } from "../../src/jobs/configs.ts";
import { type ValidationReport, validateConfig } from "../../src/jobs/configs-validate.ts";
import { newId } from "../../src/util/ids.ts";
import { Secret } from "../../src/util/secret.ts";
import { createWorld, jobBody, localDestination, type World } from "./configs-fixture.ts";

let w: World;
let id: string;
beforeAll(async () => {
  w = await createWorld();
  const put = (rel: string, bytes: number) => {
    mkdirSync(join(w.root, rel, ".."), { recursive: true });
    writeFileSync(join(w.root, rel), "x".repeat(bytes));
  };
  put("docs/a.txt", 10);
  put("docs/b.tmp", 1000);
  put("docs/deep/c.txt", 20);
  put("cache/big.bin", 5000);
  put(".hidden", 3);
  const job = jobBody(w, { sources: [{ path: w.root, excludePatterns: ["*.tmp", "cache/"] }] });
  id = (await w.alice.api("POST", "/api/configs", job)).json<ConfigJson>().id;
});
afterAll(() => w.close());

describe("validate", () => {
  it("checks sources, destination and schedule, and counts files with the excludes", async () => {
    const r = await w.alice.api("POST", `/api/configs/${id}/validate`);
    expect(r.status).toBe(200);
    expect(r.json<ValidationReport>()).toEqual({
      ok: true,
      sources: [{ path: w.root, ok: true, message: "readable folder" }],
      destination: { ok: true, message: "the repository opened" },
      schedule: {
        ok: true,
        message: "parses",
        description: "every day at 02:00 (Europe/Paris)",
        // The app's clock reads 2026-01-01T00:00Z; 02:00 in Paris in winter is 01:00Z.
        nextRuns: [1, 2, 3, 4, 5].map((d) => `2026-01-0${d}T01:00:00.000Z`),
      },
      estimate: { files: 3, bytes: 33, complete: true, message: "3 files, 33 bytes" },
    });
  });

  it("names a missing source and an unreachable destination", async () => {
    const gone = join(w.root, "missing");
    const destPath = join(w.root, "..", "repo-gone");
    const destId = await localDestination(w.t, w.alice.userId, destPath);
    rmSync(destPath, { recursive: true });
    const link = join(w.root, "link-to-docs");
    symlinkSync(join(w.root, "docs"), link);
    const body = jobBody(w, {
      sources: [{ path: gone }, { path: join(w.root, "docs") }, { path: link }],
      destinationId: destId,
    });
    const made = (await w.alice.api("POST", "/api/configs", body)).json<ConfigJson>();
    const report = (await w.alice.api("POST", `/api/configs/${made.id}/validate`)).json<ValidationReport>();
    expect(report.ok).toBe(false);
    expect(report.sources).toEqual([
      { path: gone, ok: false, message: "does not exist" },
      { path: join(w.root, "docs"), ok: true, message: "readable folder" },
      { path: link, ok: true, message: "a symbolic link: the backup stores the link, not what it points to" },
    ]);
    expect(report.destination.ok).toBe(false);
    expect(report.destination.message).toMatch(/repo-gone/);
    // The estimate covers the readable sources only (the link counts as no file).
    expect(report.estimate).toMatchObject({ files: 3, bytes: 1030, complete: true });
  });

  it("stops the scan when its time budget is spent, and says 'at least'", async () => {
    const job = findConfigRecord(w.t.db, id)!;
    const owner = principalOf(findUserById(w.t.db, job.userId)!);
    const report = await validateConfig(w.t.services, owner, job, { scanBudgetMs: 0 });
    expect(report.estimate.complete).toBe(false);
    expect(report.estimate.message).toMatch(/^at least \d+ files, \d+ bytes/);
    expect(report.estimate.files).toBeLessThan(3);
  });

  it("stops the scan and the destination check when the caller aborts", async () => {
    const job = findConfigRecord(w.t.db, id)!;
    const owner = principalOf(findUserById(w.t.db, job.userId)!);
    const report = await validateConfig(w.t.services, owner, job, { signal: AbortSignal.abort() });
    expect(report.estimate).toMatchObject({ files: 0, bytes: 0, complete: false });
    expect(report.destination.ok).toBe(false);
  });

  it("gives up on a destination that never answers, within its time budget", async () => {
    // A real TCP listener that accepts and never replies: an S3 endpoint hung mid-request.
    const sockets = new Set<Socket>();
    const hung = createServer((socket) => {
      sockets.add(socket);
    });
    await new Promise<void>((resolve) => hung.listen(0, "127.0.0.1", resolve));
    const port = (hung.address() as AddressInfo).port;
    try {
      const destId = newId();
      insertDestination(w.t.db, w.t.services.dataDir, {
        id: destId,
        userId: w.alice.userId,
        name: "hung store",
        settings: {
          kind: "s3",
          bucket: "backups",
          prefix: "",
          region: "us-east-1",
          endpoint: `http://127.0.0.1:${port}`,
          accessKeyId: "AKIA",
          storageClass: null,
          caCertificate: null,
          encrypted: true,
        },
        secrets: { secretAccessKey: new Secret("secret"), password: new Secret("pass") },
        repositoryId: "r",
        now: w.t.clock.now(),
      });
      const made = (
        await w.alice.api("POST", "/api/configs", jobBody(w, { destinationId: destId }))
      ).json<ConfigJson>();
      const job = findConfigRecord(w.t.db, made.id)!;
      const owner = principalOf(findUserById(w.t.db, job.userId)!);
      const report = await validateConfig(w.t.services, owner, job, { destinationBudgetMs: 300 });
      expect(report.destination).toEqual({ ok: false, message: "no answer within 300 ms" });
      expect(report.ok).toBe(false);
      expect(sockets.size).toBeGreaterThan(0);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => hung.close(resolve));
    }
  });

  it("answers a manual-only job with no next runs", async () => {
    await w.alice.api(
      "PUT",
      `/api/configs/${id}`,
      jobBody(w, { schedule: { cronExpression: "", timezone: "UTC" } }),
    );
    const report = (await w.alice.api("POST", `/api/configs/${id}/validate`)).json<ValidationReport>();
    expect(report.schedule).toEqual({
      ok: true,
      message: "manual only: runs when started",
      nextRuns: [],
      description: "manual only",
    });
  });
});
