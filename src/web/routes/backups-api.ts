/**
 * /api/backups: start a run (202 {logId}), cancel it, list runs newest first with keyset
 * pagination, read one run, follow it live (SSE, backups-live.ts). Everything under the prefix needs a signed-in user.
 */
import { Hono } from "hono";
import { z } from "zod";
import { logJson } from "../../db/backup-logs.ts";
import { cancelRun, principalFor, startRun, visibleLog, visibleLogs } from "../../jobs/backups.ts";
import { parseIsoTime } from "../../util/iso-time.ts";
import type { AppEnv } from "../context.ts";
import { actionContext, parseWith } from "../forms.ts";
import { requireUser } from "../middleware/guards.ts";
import { addRunEventsApi } from "./backups-live.ts";

export const LOG_STATUSES = [
  "queued",
  "running",
  "completed",
  "partial",
  "failed",
  "cancelled",
  "missed",
] as const;

const DAY_MS = 24 * 3600_000;
/** A filter form sends empty fields for "any": they mean absent. */
const blank = (v: unknown) => (v === "" ? undefined : v);
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/** A day ("2026-12-01", UTC) or an ISO time, as ms; `endOfDay` makes a day inclusive (its next midnight). */
function timeBound(endOfDay: boolean) {
  return z.preprocess(
    blank,
    z
      .string()
      .max(40)
      .transform((v, ctx) => {
        const day = DATE_ONLY.test(v);
        const ms = parseIsoTime(v);
        if (ms === null) {
          ctx.addIssue({ code: "custom", message: "a date (YYYY-MM-DD) or an ISO time" });
          return z.NEVER;
        }
        return day && endOfDay ? ms + DAY_MS : ms;
      })
      .optional(),
  );
}

/** The history's filters (job, status, date range) and its keyset page; shared by API and page. */
export const logQuerySchema = z.object({
  configId: z.preprocess(blank, z.string().min(1).max(64).optional()),
  status: z.preprocess(blank, z.enum(LOG_STATUSES).optional()),
  from: timeBound(false),
  to: timeBound(true),
  limit: z.preprocess(blank, z.coerce.number().int().min(1).max(200).optional()),
  cursor: z.preprocess(blank, z.string().max(200).optional()),
});

export function backupsApiRoutes() {
  const api = new Hono<AppEnv>();
  api.use("*", requireUser());

  api.post("/execute/:configId", async (c) => {
    const result = await startRun(
      c.get("services"),
      principalFor(c.get("user")),
      c.req.param("configId"),
      actionContext(c),
    );
    return c.json(result, 202);
  });

  api.get("/logs", (c) => {
    const query = parseWith(logQuerySchema, c.req.query());
    const page = visibleLogs(c.get("services").db, principalFor(c.get("user")), query);
    return c.json({ items: page.items.map(logJson), nextCursor: page.nextCursor });
  });

  addRunEventsApi(api);

  api.get("/:id", (c) =>
    c.json(logJson(visibleLog(c.get("services").db, principalFor(c.get("user")), c.req.param("id")))),
  );

  api.post("/:id/cancel", async (c) => {
    const services = c.get("services");
    const id = c.req.param("id");
    const cancelled = await cancelRun(services, principalFor(c.get("user")), id, actionContext(c));
    return c.json({ cancelled, log: logJson(visibleLog(services.db, principalFor(c.get("user")), id)) });
  });

  return new Hono<AppEnv>().route("/api/backups", api);
}
