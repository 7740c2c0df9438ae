/** The /reports page: the report table for a range (links to CSV and PDF) and storage usage. */
import type { Context } from "hono";
import { listConfigRecords } from "../../db/backup-configs.ts";
import { verifySettings } from "../../jobs/verify-settings.ts";
import { formatBytes } from "../../util/bytes.ts";
import type { AppEnv } from "../context.ts";
import { parseWith, renderPage } from "../forms.ts";
import { storageRows } from "../storage-view.ts";
import { reportFor, reportQuery } from "./reports.ts";

function duration(ms: number | null): string {
  if (ms === null) return "–";
  const s = Math.round(ms / 1000);
  return s < 60
    ? `${s} s`
    : s < 3600
      ? `${Math.floor(s / 60)} min ${s % 60} s`
      : `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export async function reportsPage(c: Context<AppEnv>) {
  const q = parseWith(reportQuery, c.req.query());
  const report = reportFor(c, q);
  const user = c.get("user");
  const jobs = user ? listConfigRecords(c.get("services").db, { userId: user.id }) : [];
  const params = new URLSearchParams({ from: report.from.slice(0, 10), to: report.to.slice(0, 10) });
  if (q.configId) params.set("configId", q.configId);
  const usage = await storageRows(c);
  const v = verifySettings(c.get("services").db);
  const every = (days: number) => (days === 0 ? "off" : `every ${days} day${days === 1 ? "" : "s"}`);
  const schedule = {
    check: `Repository checks: ${every(v.checkEveryDays)} per destination, reading ${v.checkReadDataPct}% of the data.`,
    drill: `Restore drills: ${every(v.drillEveryDays)} per job, up to ${v.drillFiles} files and ${formatBytes(v.drillMaxBytes)}.`,
  };
  return renderPage(c, "reports", {
    title: "Reports",
    schedule,
    from: report.from.slice(0, 10),
    to: report.to.slice(0, 10),
    configId: q.configId ?? "",
    jobs: jobs.map((j) => ({ id: j.id, name: j.name })),
    csvHref: `/api/reports?${params}&format=csv`,
    pdfHref: `/api/reports?${params}&format=pdf`,
    rows: report.items.map((r) => ({
      ...r,
      added: formatBytes(r.bytesAdded),
      stored: formatBytes(r.storageUsedBytes),
      total: duration(r.durationMs),
      mean: duration(r.meanDurationMs),
      drill: r.lastDrill
        ? `${r.lastDrill.status === "completed" ? "passed" : r.lastDrill.status} ${r.lastDrill.time.slice(0, 10)}`
        : "never",
      drillOk: r.lastDrill ? r.lastDrill.status === "completed" : null,
    })),
    usage: usage.rows,
    totals: usage.totals,
  });
}
