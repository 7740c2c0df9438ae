/**
 * Verification: "Verify now" on a destination (a repository check, kind "check") and restore
 * drills of a job (kind "drill"), on demand and on a schedule. Each is a backup_logs row queued
 * with the backups (JobService.enqueueTask: runs into one repository take turns) and run in a
 * child process (verify-child.ts); the result, its details and its alert are written by
 * verify-run.ts. The schedule is a periodic sweep: anything whose last check or drill is older
 * than its period (counted from its creation when never verified) is queued.
 */

import { join } from "node:path";
import { audit } from "../auth/accounts.ts";
import type { ActionContext } from "../auth/deps.ts";
import { ownedOrNotFound, type Principal } from "../auth/permissions.ts";
import { type BackupConfigRecord, findConfigRecord, listConfigRecords } from "../db/backup-configs.ts";
import { type BackupLogRow, insertLog, updateLog } from "../db/backup-logs.ts";
import { findDestinationRow, listDestinationRows } from "../db/destinations.ts";
import { activeVerification, lastVerificationAt, type VerifyKind } from "../db/drills.ts";
import { newId } from "../util/ids.ts";
import type { JobService } from "./service.ts";
import type { VerifySpec } from "./verify-protocol.ts";
import { driveVerification, type VerifyRunDeps } from "./verify-run.ts";
import { verifySetting } from "./verify-settings.ts";

const DAY = 86_400_000;

export interface VerificationDeps extends VerifyRunDeps {
  dataDir: string;
  jobs: JobService;
}

type Trigger = "manual" | "schedule";

export interface VerificationService {
  /** Queues a check of the destination's repository; 202 {logId}. A check already going answers its id. */
  verifyNow(
    p: Principal,
    destinationId: string,
    opts: { readDataPct?: number },
    ctx: ActionContext,
  ): { logId: string };
  /** Queues a restore drill of the job; 202 {logId}. A drill already going answers its id. */
  drillNow(p: Principal, configId: string, ctx: ActionContext): { logId: string };
  /** Queues every check and drill that is due (also run every sweepMs while started). */
  sweep(): void;
  start(): void;
  stop(): void;
}

export function createVerificationService(deps: VerificationDeps, sweepMs = 3_600_000): VerificationService {
  let timer: ReturnType<typeof setInterval> | undefined;
  const service: VerificationService = {
    verifyNow(p, destinationId, opts, ctx) {
      const dest = ownedOrNotFound(p, findDestinationRow(deps.db, destinationId), "destination");
      const pct = opts.readDataPct ?? verifySetting(deps.db, "checkReadDataPct");
      const logId = queueCheck(deps, dest, pct, "manual");
      audit(deps, "destination.verify", {
        ...ctx,
        target: `destination:${dest.id}`,
        details: { logId, readDataPct: pct },
      });
      return { logId };
    },
    drillNow(p, configId, ctx) {
      const config = ownedOrNotFound(p, findConfigRecord(deps.db, configId), "backup job");
      const logId = queueDrill(deps, config, "manual");
      audit(deps, "backup.drill", { ...ctx, target: `config:${config.id}`, details: { logId } });
      return { logId };
    },
    sweep() {
      try {
        sweepDue(deps);
      } catch (e) {
        deps.logger.error({ err: { message: (e as Error).message } }, "verification sweep failed");
      }
    },
    start() {
      clearInterval(timer);
      timer = setInterval(() => service.sweep(), sweepMs);
      timer.unref?.();
      service.sweep();
    },
    stop() {
      clearInterval(timer);
    },
  };
  return service;
}

function sweepDue(deps: VerificationDeps): void {
  const now = deps.clock.now();
  const checkDays = verifySetting(deps.db, "checkEveryDays");
  if (checkDays > 0) {
    for (const dest of listDestinationRows(deps.db)) {
      if (due(deps, "check", dest.id, dest.createdAt, checkDays, now)) {
        queueCheck(deps, dest, verifySetting(deps.db, "checkReadDataPct"), "schedule");
      }
    }
  }
  const drillDays = verifySetting(deps.db, "drillEveryDays");
  if (drillDays > 0) {
    for (const config of listConfigRecords(deps.db, { enabled: true })) {
      if (due(deps, "drill", config.id, config.createdAt, drillDays, now))
        queueDrill(deps, config, "schedule");
    }
  }
}

function due(
  deps: VerificationDeps,
  kind: VerifyKind,
  id: string,
  createdAt: number,
  days: number,
  now: number,
) {
  const since = lastVerificationAt(deps.db, kind, id) ?? createdAt;
  return now - since >= days * DAY;
}

type DestRow = NonNullable<ReturnType<typeof findDestinationRow>>;

function queueCheck(deps: VerificationDeps, dest: DestRow, readDataPct: number, trigger: Trigger): string {
  const active = activeVerification(deps.db, "check", dest.id);
  if (active) return active.id;
  const log = newRow(
    deps,
    { kind: "check", userId: dest.userId, configId: null, destinationId: dest.id },
    trigger,
  );
  const spec = (): VerifySpec => ({
    kind: "check",
    logId: log.id,
    target: targetOf(deps, dest.id),
    readDataPct,
  });
  enqueue(deps, log, spec, `destination "${dest.name}"`);
  return log.id;
}

function queueDrill(deps: VerificationDeps, config: BackupConfigRecord, trigger: Trigger): string {
  const active = activeVerification(deps.db, "drill", config.id);
  if (active) return active.id;
  const base = { kind: "drill" as const, userId: config.userId, configId: config.id };
  const log = newRow(deps, { ...base, destinationId: config.destinationId }, trigger);
  const spec = (): VerifySpec => ({
    kind: "drill",
    logId: log.id,
    target: targetOf(deps, config.destinationId),
    configId: config.id,
    count: verifySetting(deps.db, "drillFiles"),
    maxBytes: verifySetting(deps.db, "drillMaxBytes"),
    folder: join(deps.dataDir, "drills", log.id),
  });
  enqueue(deps, log, spec, `"${config.name}"`);
  return log.id;
}

interface RowKey {
  kind: VerifyKind;
  userId: string;
  configId: string | null;
  destinationId: string;
}

function newRow(deps: VerificationDeps, key: RowKey, trigger: Trigger): BackupLogRow {
  const now = deps.clock.now();
  const log = insertLog(deps.db, { id: newId(), ...key, status: "queued", trigger, startTime: now });
  const ids = { userId: key.userId, configId: key.configId, logId: log.id };
  deps.bus.publish({ type: "run.queued", ...ids, at: now, trigger });
  return log;
}

/** The repository's target, read when the run starts (the engine's access code loads lazily). */
function targetOf(deps: VerificationDeps, destinationId: string) {
  return repositoryTarget({ db: deps.db, dataDir: deps.dataDir }, destinationId);
}

let repositoryTarget: typeof import("./repository-access.ts").repositoryTargetSpec;

function enqueue(deps: VerificationDeps, log: BackupLogRow, spec: () => VerifySpec, label: string): void {
  deps.jobs.enqueueTask({
    logId: log.id,
    destinationId: log.destinationId ?? "",
    run: async (signal) => {
      repositoryTarget ??= (await import("./repository-access.ts")).repositoryTargetSpec;
      await driveVerification(deps, log, spec, label, signal);
    },
    endQueued: (reason) => endQueued(deps, log, reason),
  });
}

function endQueued(deps: VerificationDeps, log: BackupLogRow, reason: string): void {
  const now = deps.clock.now();
  updateLog(deps.db, log.id, { status: "cancelled", reason, endTime: now, durationMs: 0 });
  const ids = { userId: log.userId, configId: log.configId, logId: log.id };
  deps.bus.publish({ ...ids, type: "run.finished", at: now, status: "cancelled", snapshotId: null, reason });
}
