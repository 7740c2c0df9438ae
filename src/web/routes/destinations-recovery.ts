/**
 * Disaster recovery on a destination (src/jobs/recovery.ts): what its repository holds (the jobs
 * of the recovery copy, the snapshots) and importing those jobs. JSON under
 * /api/destinations/:id/recovery, and a page section under /destinations/:id/recovery that the
 * attach page loads with htmx (a plain GET renders it as a page of its own). Imported jobs are
 * rescheduled at once.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { z } from "zod";
import { destinationJson } from "../../jobs/destination-schema.ts";
import { getDestination } from "../../jobs/destinations.ts";
import { findRecovery, type ImportResult, importRecovery } from "../../jobs/recovery.ts";
import type { AppEnv } from "../context.ts";
import { actionContext, formFailure, jsonBody, readForm, renderPage } from "../forms.ts";
import { requireUser } from "../middleware/guards.ts";
import { principal } from "./destinations-api.ts";

type Ctx = Context<AppEnv>;

/** POST body of an import: which jobs (ids from the recovery listing); omitted = every job. */
export const recoveryImportSchema = z
  .object({ jobIds: z.array(z.string().min(1).max(100)).max(1000).optional() })
  .strict();

async function runImport(c: Ctx, jobIds: string[] | undefined): Promise<ImportResult> {
  const services = c.get("services");
  const id = c.req.param("id") ?? "";
  const result = await importRecovery(services, principal(c), id, jobIds, actionContext(c));
  for (const job of result.imported) services.jobs.reschedule(job.id);
  return result;
}

export function recoveryApiRoutes() {
  const api = new Hono<AppEnv>();
  api.use("*", requireUser());
  api.get("/:id/recovery", async (c) =>
    c.json(await findRecovery(c.get("services"), principal(c), c.req.param("id"))),
  );
  api.post("/:id/recovery/import", jsonBody(recoveryImportSchema), async (c) =>
    c.json(await runImport(c, c.req.valid("json").jobIds)),
  );
  return api;
}

const isHtmx = (c: Ctx) => c.req.header("hx-request") === "true";

async function section(c: Ctx, extra: Record<string, unknown> = {}, status: 200 | 400 = 200) {
  const { db, renderer } = c.get("services");
  const destination = destinationJson(getDestination(db, principal(c), c.req.param("id") ?? ""));
  let data: Record<string, unknown> = { ...extra, destination, csrf: c.get("session")?.csrfToken ?? null };
  try {
    data = { ...data, recovery: await findRecovery(c.get("services"), principal(c), destination.id) };
  } catch (error) {
    data = { ...data, errors: formFailure(c, error).errors };
  }
  if (isHtmx(c)) return c.html(renderer.partial("destination-recovery", data), status);
  return renderPage(
    c,
    "destination-recovery",
    { title: `Recover jobs from ${destination.name}`, ...data },
    status,
  );
}

export function recoveryPageRoutes() {
  const pages = new Hono<AppEnv>();
  pages.use("*", requireUser());
  pages.get("/:id/recovery", (c) => section(c));
  pages.post("/:id/recovery/import", async (c) => {
    const form = await readForm(c);
    const jobIds = Object.keys(form)
      .filter((k) => k.startsWith("job.") && form[k] === "on")
      .map((k) => k.slice("job.".length));
    if (jobIds.length === 0)
      return section(c, { errors: { form: "Choose at least one job to import." } }, 400);
    try {
      return section(c, { result: await runImport(c, jobIds) });
    } catch (error) {
      return section(c, { errors: formFailure(c, error).errors }, 400);
    }
  });
  return pages;
}
