/**
 * Alerts: `GET /api/alerts?status=open|acknowledged|resolved&cursor=` → {items, nextCursor},
 * `PUT /api/alerts/:id/acknowledge` → the alert, `POST /api/alerts/acknowledge-all`, and the
 * /alerts page (tabs by status, acknowledge one or all with plain forms: no JavaScript needed).
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { z } from "zod";
import { type AlertStatus, alertJson } from "../../db/alerts.ts";
import { findConfigRecord } from "../../db/backup-configs.ts";
import { acknowledge, acknowledgeAll, visibleAlerts } from "../../jobs/alerts.ts";
import { principalFor } from "../../jobs/backups.ts";
import type { AppEnv } from "../context.ts";
import { actionContext, parseWith, renderPage } from "../forms.ts";
import { requireUser } from "../middleware/guards.ts";

type Ctx = Context<AppEnv>;

const listQuery = z.object({
  status: z
    .enum(["open", "acknowledged", "resolved"], { error: "Use open, acknowledged or resolved." })
    .optional(),
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(200).optional(),
});

const TABS: { status: AlertStatus; label: string }[] = [
  { status: "open", label: "Open" },
  { status: "acknowledged", label: "Acknowledged" },
  { status: "resolved", label: "Resolved" },
];

const KIND_LABELS: Record<string, string> = {
  failed_run: "Failed run",
  unreadable_files: "Unreadable files",
  missed_schedule: "Missed schedule",
  interrupted: "Interrupted",
  no_recent_success: "No recent success",
  destination_unreachable: "Destination unreachable",
  check_failed: "Check failed",
  restore_failed: "Failed restore",
};

function pageItems(c: Ctx, status: AlertStatus, cursor: string | undefined) {
  const { db } = c.get("services");
  const page = visibleAlerts(db, principalFor(c.get("user")), { status, cursor: cursor ?? null, limit: 50 });
  const names = new Map<string, string>();
  const jobName = (id: string | null) => {
    if (!id) return null;
    if (!names.has(id)) names.set(id, findConfigRecord(db, id)?.name ?? "(deleted job)");
    return names.get(id) ?? null;
  };
  return {
    nextCursor: page.nextCursor,
    items: page.items.map((row) => ({
      ...alertJson(row),
      kindLabel: KIND_LABELS[row.kind] ?? row.kind,
      jobName: jobName(row.configId),
      logId: row.logId,
      first: row.timestamp,
      last: row.lastSeenAt,
      resolved: row.resolvedAt,
    })),
  };
}

export function alertsApiRoutes() {
  const api = new Hono<AppEnv>();
  api.use("*", requireUser());

  api.get("/", (c) => {
    const q = parseWith(listQuery, c.req.query());
    const page = visibleAlerts(c.get("services").db, principalFor(c.get("user")), {
      status: q.status,
      cursor: q.cursor ?? null,
      limit: q.limit,
    });
    return c.json({ items: page.items.map(alertJson), nextCursor: page.nextCursor });
  });

  api.put("/:id/acknowledge", (c) => {
    const row = acknowledge(
      c.get("services"),
      principalFor(c.get("user")),
      c.req.param("id"),
      actionContext(c),
    );
    return c.json(alertJson(row));
  });

  api.post("/acknowledge-all", (c) => {
    const acknowledged = acknowledgeAll(c.get("services"), principalFor(c.get("user")), actionContext(c));
    return c.json({ acknowledged });
  });

  return new Hono<AppEnv>().route("/api/alerts", api);
}

export function alertsPageRoutes() {
  const pages = new Hono<AppEnv>();
  pages.use("*", requireUser());

  pages.get("/", (c) => {
    const parsed = listQuery.safeParse(c.req.query());
    const status = (parsed.success ? parsed.data.status : undefined) ?? "open";
    const cursor = parsed.success ? parsed.data.cursor : undefined;
    return renderPage(c, "alerts", {
      title: "Alerts",
      status,
      tabs: TABS.map((t) => ({ ...t, current: t.status === status })),
      ...pageItems(c, status, cursor),
    });
  });

  pages.post("/acknowledge-all", (c) => {
    acknowledgeAll(c.get("services"), principalFor(c.get("user")), actionContext(c));
    return c.redirect("/alerts?notice=alerts-acknowledged", 303);
  });

  pages.post("/:id/acknowledge", (c) => {
    acknowledge(c.get("services"), principalFor(c.get("user")), c.req.param("id"), actionContext(c));
    return c.redirect("/alerts?notice=alert-acknowledged", 303);
  });

  return new Hono<AppEnv>().route("/alerts", pages);
}
