/**
 * The report as CSV that spreadsheets open correctly: UTF-8 with a byte-order mark (Excel reads
 * the encoding from it), RFC 4180 quoting by csv-stringify, and no formula injection — a text
 * cell starting with `=`, `+`, `-`, `@`, tab or carriage return is prefixed with `'`, so a job
 * named `=HYPERLINK(...)` shows as text instead of running.
 */
import { stringify } from "csv-stringify/sync";
import type { Report } from "./reports.ts";

const FORMULA_START = /^[=+\-@\t\r]/;

/** A text cell made safe for spreadsheets. */
export function neutralise(cell: string): string {
  return FORMULA_START.test(cell) ? `'${cell}` : cell;
}

export const CSV_COLUMNS = [
  "job",
  "destination",
  "runs",
  "successes",
  "partial",
  "failures",
  "bytes_added",
  "bytes_processed",
  "duration_ms",
  "mean_duration_ms",
  "storage_used_bytes",
  "last_drill_status",
  "last_drill_time",
  "from",
  "to",
] as const;

export function reportCsv(report: Report): string {
  const rows = report.items.map((r) => [
    neutralise(r.name),
    neutralise(r.destination),
    r.runs,
    r.successes,
    r.partial,
    r.failures,
    r.bytesAdded,
    r.bytesProcessed,
    r.durationMs,
    r.meanDurationMs ?? "",
    r.storageUsedBytes,
    r.lastDrill?.status ?? "",
    r.lastDrill?.time ?? "",
    report.from,
    report.to,
  ]);
  return stringify([[...CSV_COLUMNS], ...rows], {
    bom: true,
    quoted_match: /[",\r\n]/,
    record_delimiter: "\r\n",
  });
}
