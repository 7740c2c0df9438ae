/**
 * /backups pages: the list of runs, and one run with its status, counters, per-file errors and
 * snapshot id, a Cancel button while it is queued or running, and a status card that follows the
 * run live over SSE (backups-live.ts) and turns into the summary when it ends. Everything under the prefix needs a signed-in user.
 */
import { type Context, Hono } from "hono";
import { findConfigRecord } from "../../db/backup-configs.ts";
import { type BackupLogRow, logErrors } from "../../db/backup-logs.ts";
import { cancelRun, principalFor, visibleLog, visibleLogs } from "../../jobs/backups.ts";
import { formatBytes, formatDuration } from "../../util/bytes.ts";
import type { AppEnv } from "../context.ts";
import { actionContext, parseWith, renderPage } from "../forms.ts";
import { requireUser } from "../middleware/guards.ts";
import { formatDate } from "../render.ts";
import { logQuerySchema } from "./backups-api.ts";
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

export function backupsPageRoutes() {
  const pages = new Hono<AppEnv>();
  pages.use("*", requireUser());
  addLivePages(pages, statusData);

  pages.get("/", (c) => {
    const { db } = c.get("services");
    const query = parseWith(logQuerySchema, c.req.query());
    const page = visibleLogs(db, principalFor(c.get("user")), query);
    const names = new Map<string, string>();
    const items = page.items.map((r) => {
      const key = r.configId ?? "";
      if (!names.has(key)) names.set(key, jobName(c, r.configId));
      return {
        ...r,
        jobName: names.get(key),
        size: formatBytes(r.totalBytes),
        duration: r.durationMs === null ? "—" : formatDuration(r.durationMs),
      };
    });
    return renderPage(c, "backups", { title: "Backup runs", items, nextCursor: page.nextCursor });
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
