/**
 * "Validate" of a backup job: can it run as saved? Each source exists, is readable and lies inside
 * the owner's allowed roots; the destination's repository opens (lock "none", closed again,
 * time-bounded); the schedule parses, with its next five runs in the job's zone; and a quick scan
 * estimates files and bytes with the job's include/exclude rules. The scan is bounded in time and
 * stops when the caller's signal aborts (the HTTP request went away); it then says "at least".
 */
import { constants } from "node:fs";
import { access, lstat } from "node:fs/promises";
import { isPathAllowed, type Principal } from "../auth/permissions.ts";
import type { BackupConfigRecord, SourceSpec } from "../db/backup-configs.ts";
import type { Db } from "../db/client.ts";
import { createPathFilter } from "../engine/scan/patterns.ts";
import { walk } from "../engine/scan/walk.ts";
import { describeSchedule, nextRunTimes, scheduleProblems } from "../scheduler/cron.ts";
import type { Clock } from "../util/clock.ts";
import { openSpecRepository, repositoryTargetSpec } from "./repository-access.ts";

export interface ValidateDeps {
  db: Db;
  dataDir: string;
  clock: Clock;
}

export interface ValidateOptions {
  /** Aborts the scan and the destination check (the request was aborted). */
  signal?: AbortSignal;
  /** Time budget of the estimate scan, ms (default 5000). */
  scanBudgetMs?: number;
  /** Time budget of the destination check, ms (default 15000). */
  destinationBudgetMs?: number;
}

export interface Check {
  ok: boolean;
  message: string;
}

export interface ValidationReport {
  ok: boolean;
  sources: (Check & { path: string })[];
  destination: Check;
  schedule: Check & { nextRuns: string[]; description: string };
  estimate: { files: number; bytes: number; complete: boolean; message: string };
}

function errorText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err?.code === "ENOENT") return "does not exist";
  if (err?.code === "EACCES" || err?.code === "EPERM")
    return "cannot be read by the server (permission denied)";
  return err?.message ?? String(e);
}

async function checkSource(owner: Principal, source: SourceSpec): Promise<Check & { path: string }> {
  const { path } = source;
  if (!isPathAllowed(owner, path)) {
    return {
      path,
      ok: false,
      message: "lies outside the folders an administrator allowed for this job's owner",
    };
  }
  try {
    // lstat: a run records a symbolic link given as a source, it does not follow it.
    const st = await lstat(path);
    if (st.isSymbolicLink()) {
      return {
        path,
        ok: true,
        message: "a symbolic link: the backup stores the link, not what it points to",
      };
    }
    await access(path, st.isDirectory() ? constants.R_OK | constants.X_OK : constants.R_OK);
    return { path, ok: true, message: st.isDirectory() ? "readable folder" : "readable file" };
  } catch (e) {
    return { path, ok: false, message: errorText(e) };
  }
}

/** Rejects with `message` after `ms` unless `work` settles first; the timer never outlives the race. */
async function within<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function checkDestination(
  deps: ValidateDeps,
  job: BackupConfigRecord,
  options: ValidateOptions,
): Promise<Check> {
  const budget = options.destinationBudgetMs ?? 15_000;
  const controller = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
  const open = (async () => {
    const spec = repositoryTargetSpec({ db: deps.db, dataDir: deps.dataDir }, job.destinationId);
    const repo = await openSpecRepository(spec, { lock: "none", signal, workers: 0 });
    await repo.close();
  })();
  try {
    await within(
      open,
      budget,
      `no answer within ${budget >= 1000 ? `${Math.round(budget / 1000)} s` : `${budget} ms`}`,
    );
    return { ok: true, message: "the repository opened" };
  } catch (e) {
    controller.abort();
    open.catch(() => {});
    return { ok: false, message: (e as Error).message };
  }
}

function checkSchedule(job: BackupConfigRecord, now: number): ValidationReport["schedule"] {
  const description = describeSchedule(job.schedule);
  const problems = Object.values(scheduleProblems(job.schedule));
  if (problems.length > 0) return { ok: false, message: problems.join(" "), nextRuns: [], description };
  const nextRuns = nextRunTimes(job.schedule, 5, new Date(now)).map((d) => d.toISOString());
  const message = job.schedule.cronExpression === "" ? "manual only: runs when started" : "parses";
  return { ok: true, message, nextRuns, description };
}

/**
 * Counts files and bytes of the readable sources with each source's own rules, until done, the
 * budget is spent or the signal aborts. Unreadable entries are skipped (the source check says so).
 */
async function estimate(
  deps: ValidateDeps,
  sources: SourceSpec[],
  options: ValidateOptions,
): Promise<ValidationReport["estimate"]> {
  const budget = options.scanBudgetMs ?? 5000;
  const deadline = deps.clock.now() + budget;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), budget);
  const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
  let files = 0;
  let bytes = 0;
  let complete = true;
  try {
    for (const source of sources) {
      const filter = createPathFilter({ excludes: source.excludePatterns, includes: source.includePatterns });
      for await (const entry of walk([source.path], filter, signal)) {
        if (deps.clock.now() >= deadline || signal.aborted) throw new Error("budget spent");
        if (entry.kind !== "file") continue;
        files++;
        bytes += Number(entry.stat.size);
      }
    }
  } catch {
    complete = false;
  } finally {
    clearTimeout(timer);
  }
  const what = `${files} files, ${bytes} bytes`;
  const message = complete ? what : `at least ${what} (the quick scan stopped after ${budget / 1000} s)`;
  return { files, bytes, complete, message };
}

/** The report for a saved job; `owner` is the job owner's principal (roots are theirs). */
export async function validateConfig(
  deps: ValidateDeps,
  owner: Principal,
  job: BackupConfigRecord,
  options: ValidateOptions = {},
): Promise<ValidationReport> {
  const sources = await Promise.all(job.sources.map((s) => checkSource(owner, s)));
  const readable = job.sources.filter((_, i) => sources[i]?.ok);
  const [destination, scan] = await Promise.all([
    checkDestination(deps, job, options),
    estimate(deps, readable, options),
  ]);
  const schedule = checkSchedule(job, deps.clock.now());
  const ok = sources.every((s) => s.ok) && destination.ok && schedule.ok;
  return { ok, sources, destination, schedule, estimate: scan };
}
