/**
 * Reports and storage: `GET /api/reports?from=&to=&configId=&format=json|csv|pdf` (per job runs,
 * outcomes, data added, duration, storage used, last drill), `GET /api/storage/usage` (per
 * destination stored bytes and objects, logical size, ratios, monthly cost), `PUT
 * /api/storage/prices/:destinationId` (a user's prices; `null` body fields not allowed), and the
 * /reports page with the same numbers and a small price form per destination. The principal's
 * own jobs and destinations only (another user's id is not found).
 */
import { type Context, Hono } from "hono";
import { z } from "zod";
import { ownedOrNotFound } from "../../auth/permissions.ts";
import { findDestinationRow } from "../../db/destinations.ts";
import { principalFor } from "../../jobs/backups.ts";
import { reportCsv } from "../../jobs/report-csv.ts";
import { reportPdf } from "../../jobs/report-pdf.ts";
import { buildReport, reportRange } from "../../jobs/reports.ts";
import {
  CLASS_PRICES,
  clearDestinationPrice,
  priceSchema,
  setDestinationPrice,
} from "../../jobs/storage-prices.ts";
import { storageUsage } from "../../jobs/storage-usage.ts";
import type { AppEnv } from "../context.ts";
import { jsonBody, parseWith } from "../forms.ts";
import { requireUser } from "../middleware/guards.ts";
import { reportsPage } from "./reports-page.ts";

type Ctx = Context<AppEnv>;

export const reportQuery = z.object({
  from: z.string().max(40).optional(),
  to: z.string().max(40).optional(),
  configId: z.string().max(64).optional(),
  format: z.enum(["json", "csv", "pdf"]).default("json"),
});

export function reportFor(c: Ctx, q: z.output<typeof reportQuery>) {
  const { db, clock } = c.get("services");
  const now = clock.now();
  const range = reportRange(q, now);
  return buildReport(db, principalFor(c.get("user")), { ...range, configId: q.configId || undefined }, now);
}

function fileName(from: string, to: string, ext: string): string {
  return `backapp-report-${from.slice(0, 10)}-${to.slice(0, 10)}.${ext}`;
}

async function reportAnswer(c: Ctx) {
  const q = parseWith(reportQuery, c.req.query());
  const report = reportFor(c, q);
  if (q.format === "csv") {
    return c.body(reportCsv(report), 200, {
      "Content-Type": "text/csv; charset=utf-8",
      "Content-Disposition": `attachment; filename="${fileName(report.from, report.to, "csv")}"`,
    });
  }
  if (q.format === "pdf") {
    const bytes = await reportPdf(report);
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
      "Content-Type": "application/pdf",
      "Content-Disposition": `attachment; filename="${fileName(report.from, report.to, "pdf")}"`,
    });
  }
  return c.json(report);
}

export function usageFor(c: Ctx) {
  const { db, dataDir, clock } = c.get("services");
  return storageUsage({ db, dataDir, now: clock.now() }, principalFor(c.get("user")));
}

const priceBody = priceSchema.extend({ reset: z.coerce.boolean().optional() });

function savePrice(c: Ctx, body: z.output<typeof priceBody>) {
  const { db, clock } = c.get("services");
  const dest = ownedOrNotFound(
    principalFor(c.get("user")),
    findDestinationRow(db, c.req.param("id") ?? ""),
    "destination",
  );
  if (body.reset) clearDestinationPrice(db, dest.id, clock.now());
  else setDestinationPrice(db, dest.id, body, clock.now());
}

export function reportsRoutes() {
  const app = new Hono<AppEnv>();
  for (const path of ["/api/reports", "/api/storage/*", "/reports", "/reports/*"])
    app.use(path, requireUser());
  app.get("/api/reports", reportAnswer);
  app.get("/api/storage/usage", async (c) => c.json({ ...(await usageFor(c)), classes: CLASS_PRICES }));
  app.put("/api/storage/prices/:id", jsonBody(priceBody), (c) => {
    savePrice(c, c.req.valid("json"));
    return c.json({ ok: true });
  });
  app.get("/reports", reportsPage);
  app.post("/reports/prices/:id", async (c) => {
    const form = Object.fromEntries(Object.entries(await c.req.parseBody()).filter(([k]) => k !== "_csrf"));
    savePrice(c, parseWith(priceBody, form));
    return c.redirect("/reports?notice=prices-saved#storage", 303);
  });
  return app;
}
