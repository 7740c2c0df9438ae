/**
 * /dashboard (where a signed-in user lands; `/` leads there) and `GET /api/metrics`: per-job
 * health, totals over 7, 30 or 90 days and daily charts of size added and duration per job.
 * Per user; an admin may pass `userId` for another user's numbers.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { z } from "zod";
import { isAdmin } from "../../auth/permissions.ts";
import { unreadAlertCount } from "../../db/alerts.ts";
import type { DayPoint } from "../../db/metrics-queries.ts";
import { findUserById } from "../../db/users.ts";
import { principalFor } from "../../jobs/backups.ts";
import {
  backupMetrics,
  type JobHealth,
  jobHealth,
  jobSeries,
  PERIODS,
  type Period,
  periodStart,
} from "../../jobs/metrics.ts";
import { type Memo, metricsMemo } from "../../jobs/metrics-cache.ts";
import { formatBytes, formatDuration } from "../../util/bytes.ts";
import { NotFoundError } from "../../util/errors.ts";
import { barChart, byteUnit, durationUnit } from "../charts.ts";
import type { AppEnv } from "../context.ts";
import { parseWith, renderPage } from "../forms.ts";
import { withLastDrill } from "../last-drill.ts";
import { requireUser } from "../middleware/guards.ts";
import { formatDate } from "../render.ts";
import { storageRows } from "../storage-view.ts";
import { runningNowView } from "./backups-live.ts";

type Ctx = Context<AppEnv>;

const metricsQuery = z.object({
  period: z.enum(["7d", "30d", "90d"], { error: "Use 7d, 30d or 90d." }).default("30d"),
  userId: z.string().min(1).max(64).optional(),
});

/** Whose numbers: one's own; an admin may name another user (an unknown or forbidden id is 404). */
function subjectOf(c: Ctx, userId: string | undefined): string {
  const p = principalFor(c.get("user"));
  if (!userId || userId === p.id) return p.id;
  if (!isAdmin(p) || !findUserById(c.get("services").db, userId)) throw new NotFoundError("user not found");
  return userId;
}

/** How many jobs get charts (the most active ones), so a 200-job dashboard stays light. */
const MAX_CHARTED = 8;

function ago(now: number, at: number | null): string {
  if (at === null) return "never";
  const min = Math.max(0, Math.floor((now - at) / 60_000));
  if (min < 1) return "just now";
  if (min < 60) return `${min} min ago`;
  const h = Math.floor(min / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.floor(h / 24)} days ago`;
}

function jobRow(h: JobHealth, now: number) {
  return {
    id: h.config.id,
    name: h.config.name,
    state: h.state,
    label: h.label,
    detail: h.detail,
    lastRunId: h.lastRun?.id ?? null,
    lastStatus: h.lastRun?.status ?? null,
    lastRunAt: h.lastRun ? formatDate(h.lastRun.startTime) : "",
    lastSuccessAge: ago(now, h.lastSuccessAt),
    nextRun: h.nextRun === null ? (h.config.enabled ? "manual only" : "disabled") : formatDate(h.nextRun),
  };
}

/** Per bar of `bucket` days, the mean duration of its runs (weighted by runs, not by days). */
function meanDurations(points: DayPoint[], from: number, bucket: number) {
  const sums = new Map<number, { ms: number; runs: number }>();
  for (const p of points) {
    const start = from + Math.floor((p.day - from) / (bucket * DAY_MS)) * bucket * DAY_MS;
    const sum = sums.get(start) ?? { ms: 0, runs: 0 };
    sum.ms += p.averageDurationMs * p.runs;
    sum.runs += p.runs;
    sums.set(start, sum);
  }
  return [...sums].map(([day, sum]) => ({ day, value: Math.round(sum.ms / Math.max(1, sum.runs)) }));
}

const DAY_MS = 86_400_000;

function chartsOf(c: Ctx, health: JobHealth[], period: Period, now: number, memo: Memo) {
  const { db } = c.get("services");
  const days = PERIODS[period];
  const bucket = days > 31 ? 7 : 1;
  const from = periodStart(now, period);
  const points = jobSeries(
    db,
    health.map((h) => h.config.id),
    period,
    now,
    memo,
  );
  const activity = new Map<string, number>();
  for (const p of points) activity.set(p.configId, (activity.get(p.configId) ?? 0) + p.runs);
  const charted = health
    .filter((h) => activity.has(h.config.id))
    .sort((a, b) => (activity.get(b.config.id) ?? 0) - (activity.get(a.config.id) ?? 0))
    .slice(0, MAX_CHARTED);
  const charts = charted.map((h) => {
    const mine = points.filter((p) => p.configId === h.config.id);
    const size = mine.map((p) => ({ day: p.day, value: p.bytesAdded }));
    return {
      id: h.config.id,
      name: h.config.name,
      size: barChart(`size-${h.config.id}`, "Size added", size, from, days, formatBytes, byteUnit, bucket),
      duration: barChart(
        `dur-${h.config.id}`,
        "Average duration",
        meanDurations(mine, from, bucket),
        from,
        days,
        formatDuration,
        durationUnit,
        bucket,
      ),
    };
  });
  return { charts, chartsCut: activity.size - charts.length };
}

function totalsOf(m: ReturnType<typeof backupMetrics>) {
  const added = m.perJob.reduce((sum, j) => sum + j.bytesAdded, 0);
  return [
    { label: "Runs", value: String(m.totalBackups) },
    { label: "Success rate", value: m.successRate === null ? "—" : `${m.successRate} %` },
    {
      label: "Average duration",
      value: m.averageDuration === null ? "—" : formatDuration(m.averageDuration),
    },
    { label: "Data added", value: formatBytes(added) },
    { label: "Storage used", value: formatBytes(m.totalStorageUsed) },
    {
      label: "Last backup",
      value: m.lastBackupDate ? formatDate(Date.parse(m.lastBackupDate)) : "never",
      small: true,
    },
  ];
}

/** The dashboard page (also what `/` shows a signed-in user). */
export function dashboardPage(c: Ctx) {
  const services = c.get("services");
  const parsed = metricsQuery.safeParse(c.req.query());
  const period: Period = parsed.success ? parsed.data.period : "30d";
  const userId = subjectOf(c, parsed.success ? parsed.data.userId : undefined);
  const now = services.clock.now();
  const deps = { db: services.db, jobs: services.jobs };
  const health = jobHealth(deps, userId, now);
  const memo = metricsMemo(services.events, now);
  const metrics = backupMetrics(deps, userId, period, now, health, memo);
  return renderPage(c, "dashboard", {
    title: "Dashboard",
    period,
    periodDays: PERIODS[period],
    periods: (Object.keys(PERIODS) as Period[]).map((p) => ({
      value: p,
      label: `${PERIODS[p]} days`,
      current: p === period,
    })),
    totals: totalsOf(metrics),
    jobs: withLastDrill(
      services.db,
      health.map((h) => jobRow(h, now)),
    ),
    unread: unreadAlertCount(services.db, userId),
    running: runningNowView(c),
    ...chartsOf(c, health, period, now, memo),
  });
}

export function dashboardRoutes() {
  const app = new Hono<AppEnv>();
  app.use("/dashboard", requireUser());
  app.use("/api/metrics", requireUser());

  app.get("/dashboard", dashboardPage);

  // The storage card, asked for by the dashboard once it is shown (hx-trigger="load"): reading a
  // repository's numbers can take a while the first time (then they come from the usage cache).
  app.use("/dashboard/storage", requireUser());
  app.get("/dashboard/storage", async (c) => {
    const { rows, totals } = await storageRows(c);
    return c.html(c.get("services").renderer.partial("dashboard-storage", { usage: rows, totals }));
  });

  app.get("/api/metrics", (c) => {
    const services = c.get("services");
    const q = parseWith(metricsQuery, c.req.query());
    const userId = subjectOf(c, q.userId);
    const deps = { db: services.db, jobs: services.jobs };
    const now = services.clock.now();
    const health = jobHealth(deps, userId, now);
    return c.json(backupMetrics(deps, userId, q.period, now, health, metricsMemo(services.events, now)));
  });

  return app;
}
