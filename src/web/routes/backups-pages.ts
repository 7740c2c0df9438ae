/**
 * /backups pages: the list of runs, and one run with its status, counters, per-file errors and
 * snapshot id, a Cancel button while it is queued or running, and a status card that follows the
 * run live over SSE (backups-live.ts) and turns into the summary when it ends. Everything under the prefix needs a signed-in user.
 */
import { type Context, Hono } from "hono";
import { findConfigRecord } from "../../db/backup-configs.ts";
import { type BackupLogRow, logErrors } from "../../db/backup-logs.ts";
import { cancelRun, principalFor, visibleLog, visibleLogs } from "../../jobs/backups.ts";
import { visibleConfigs } from "../../jobs/configs.ts";
import { formatBytes, formatDuration } from "../../util/bytes.ts";
import type { AppEnv } from "../context.ts";
import { actionContext, parseWith, renderPage } from "../forms.ts";
import { requireUser } from "../middleware/guards.ts";
import { formatDate } from "../render.ts";
import { LOG_STATUSES, logQuerySchema } from "./backups-api.ts";
import { addLivePages, initialLive } from "./backups-live.ts";

type Ctx = Context<AppEnv>;

function jobName(c: Ctx, configId: string | null): string {
  const job = configId ? findConfigRecord(c.get("services").db, configId) : undefined;
  return job?.name ?? "(deleted job)";
}

function statusData(c: Ctx, row: BackupLogRow) {
  const active = row.status === "queued" || row.status === "running";
  return {
    run: {
      ...row,
      startTimeMs: row.startTime,
      endTimeMs: row.endTime,
      errors: logErrors(row),
    },
    active,
    size: formatBytes(row.totalBytes),
    transferred: formatBytes(row.bytesTransferred),
    duration: row.durationMs === null ? "—" : formatDuration(row.durationMs),
    csrf: c.get("session")?.csrfToken ?? null,
    date: formatDate,
  };
}

/** The history's filters as the form sent them (empty: any), to fill the form and carry into links. */
function historyFilters(c: Ctx) {
  const q = (name: string) => (c.req.query(name) ?? "").slice(0, 64);
  return { configId: q("configId"), status: q("status"), from: q("from"), to: q("to") };
}

/** /backups with the non-empty parameters. */
function historyUrl(params: Record<string, string>): string {
  const qs = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== "")).toString();
  return qs ? `/backups?${qs}` : "/backups";
}

export function backupsPageRoutes() {
  const pages = new Hono<AppEnv>();
  pages.use("*", requireUser());
  addLivePages(pages, statusData);

  pages.get("/", (c) => {
    const { db } = c.get("services");
    const p = principalFor(c.get("user"));
    const query = parseWith(logQuerySchema, c.req.query());
    const page = visibleLogs(db, p, query);
    const jobs = visibleConfigs(db, p)
      .map(({ id, name }) => ({ id, name }))
      .sort((a, b) => a.name.localeCompare(b.name));
    const names = new Map(jobs.map((j) => [j.id, j.name]));
    const items = page.items.map((r) => ({
      ...r,
      jobName: (r.configId && names.get(r.configId)) || jobName(c, r.configId),
      size: formatBytes(r.totalBytes),
      duration: r.durationMs === null ? "—" : formatDuration(r.durationMs),
    }));
    const filters = historyFilters(c);
    const older = page.nextCursor ? historyUrl({ ...filters, cursor: page.nextCursor }) : null;
    const filtered = Object.values(filters).some((v) => v !== "");
    return renderPage(c, "backups", {
      title: "Backup runs",
      items,
      jobs,
      statuses: LOG_STATUSES,
      filters,
      filtered,
      paged: Boolean(query.cursor),
      first: historyUrl(filters),
      older,
    });
  });

  pages.get("/:id", (c) => {
    const row = visibleLog(c.get("services").db, principalFor(c.get("user")), c.req.param("id"));
    const title = `Backup run: ${jobName(c, row.configId)}`;
    const live = initialLive(c, row);
    return renderPage(c, "backup", { title, jobName: jobName(c, row.configId), ...statusData(c, row), live });
  });

  pages.get("/:id/status", (c) => {
    const row = visibleLog(c.get("services").db, principalFor(c.get("user")), c.req.param("id"));
    c.header("Cache-Control", "no-store");
    const data = { ...statusData(c, row), live: initialLive(c, row) };
    return c.html(c.get("services").renderer.partial("backup-status", data));
  });

  pages.post("/:id/cancel", async (c) => {
    const id = c.req.param("id");
    await cancelRun(c.get("services"), principalFor(c.get("user")), id, actionContext(c));
    return c.redirect(`/backups/${encodeURIComponent(id)}`, 303);
  });

  return new Hono<AppEnv>().route("/backups", pages);
}
