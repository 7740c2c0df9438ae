/**
 * Reports per job over a time range: runs, successes, partial runs, failures, data added
 * (uploaded after dedup and compression), data read, total and mean duration, storage used
 * (bytes the job has uploaded over its life — an upper bound, prune frees some), and the last
 * restore drill. The same data feeds /reports, JSON, CSV (report-csv.ts) and PDF (report-pdf.ts).
 */
import type { Principal } from "../auth/permissions.ts";
import { listConfigRecords } from "../db/backup-configs.ts";
import type { Db } from "../db/client.ts";
import { listDestinationRows } from "../db/destinations.ts";
import { latestDrillsByConfig } from "../db/drills.ts";
import { jobBytesStored, jobRunTotals } from "../db/report-queries.ts";
import { ValidationError } from "../util/errors.ts";
import { parseIsoTime } from "../util/iso-time.ts";

export interface ReportQuery {
  from: number;
  to: number;
  configId?: string | undefined;
}

export interface ReportRow {
  configId: string;
  name: string;
  destination: string;
  runs: number;
  successes: number;
  partial: number;
  failures: number;
  bytesAdded: number;
  bytesProcessed: number;
  durationMs: number;
  meanDurationMs: number | null;
  storageUsedBytes: number;
  lastDrill: {
    status: string;
    time: string;
    filesChecked: number;
    bytesChecked: number;
    reason: string | null;
  } | null;
}

export interface Report {
  from: string;
  to: string;
  generatedAt: string;
  items: ReportRow[];
}

const DAY = 86_400_000;

/** The range from the query (ISO dates or times); default the last 30 days up to now. */
export function reportRange(q: { from?: string | undefined; to?: string | undefined }, now: number) {
  const parse = (v: string | undefined, fallback: number) => {
    if (!v) return fallback;
    const t = parseIsoTime(v);
    if (t === null) throw new ValidationError(`not a date (YYYY-MM-DD or an ISO time): ${v}`);
    return t;
  };
  const to = parse(q.to, now);
  const from = parse(q.from, to - 30 * DAY);
  if (from >= to) throw new ValidationError("from must be before to");
  return { from, to };
}

/** The principal's own jobs (one when configId is given: another user's id is simply not there). */
export function buildReport(db: Db, p: Principal, q: ReportQuery, now: number): Report {
  const configs = listConfigRecords(db, { userId: p.id }).filter((c) => !q.configId || c.id === q.configId);
  const ids = configs.map((c) => c.id);
  const totals = jobRunTotals(db, ids, q.from, q.to);
  const stored = jobBytesStored(db, ids);
  const drills = latestDrillsByConfig(db, ids);
  const destNames = new Map(listDestinationRows(db, p.id).map((d) => [d.id, d.name]));
  const items = configs.map((c): ReportRow => {
    const t = totals.get(c.id);
    const drill = drills.get(c.id);
    const runs = t?.runs ?? 0;
    return {
      configId: c.id,
      name: c.name,
      destination: destNames.get(c.destinationId) ?? "",
      runs,
      successes: t?.successes ?? 0,
      partial: t?.partial ?? 0,
      failures: t?.failures ?? 0,
      bytesAdded: t?.bytesAdded ?? 0,
      bytesProcessed: t?.bytesProcessed ?? 0,
      durationMs: t?.durationMs ?? 0,
      meanDurationMs: runs > 0 ? Math.round((t?.durationMs ?? 0) / runs) : null,
      storageUsedBytes: stored.get(c.id) ?? 0,
      lastDrill: drill
        ? {
            status: drill.status,
            time: new Date(drill.startTime).toISOString(),
            filesChecked: drill.filesProcessed,
            bytesChecked: drill.totalBytes,
            reason: drill.reason,
          }
        : null,
    };
  });
  const iso = (t: number) => new Date(t).toISOString();
  return { from: iso(q.from), to: iso(q.to), generatedAt: iso(now), items };
}
