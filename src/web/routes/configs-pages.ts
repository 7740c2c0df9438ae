/**
 * Backup job pages under /configs (guarded as a whole: signed-in users): the list with enable
 * toggles and "Run now", the new/edit form with inline field checks and "Validate", and delete.
 * Forms post plain HTML and work without JavaScript; with htmx the small actions swap one table
 * row, field checks swap one error slot, and the validation report swaps its own section.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { isAdmin } from "../../auth/permissions.ts";
import type { BackupConfigRecord } from "../../db/backup-configs.ts";
import { latestLogsByConfig } from "../../db/backup-logs.ts";
import { listDestinationRows } from "../../db/destinations.ts";
import { listUsers } from "../../db/users.ts";
import { startRun } from "../../jobs/backups.ts";
import {
  formSourceIndexes,
  formToInput,
  parseConfigInput,
  SCHEDULE_CHOICES,
  serverTimeZone,
} from "../../jobs/config-schema.ts";
import {
  createConfig,
  deleteConfig,
  setConfigEnabledFor,
  updateConfig,
  visibleConfig,
  visibleConfigs,
} from "../../jobs/configs.ts";
import { formatBytes } from "../../util/bytes.ts";
import { ValidationError } from "../../util/errors.ts";
import type { AppEnv } from "../context.ts";
import { actionContext, formFailure, readForm, renderPage } from "../forms.ts";
import { requireUser } from "../middleware/guards.ts";
import { runningNowView } from "./backups-live.ts";
import { fieldCheck } from "./configs-check.ts";
import { currentPrincipal, reschedule, runValidation } from "./configs-shared.ts";
import { configRow, type FormValues, formatInZone, newFormValues, recordFormValues } from "./configs-view.ts";

type Ctx = Context<AppEnv>;

const isHtmx = (c: Ctx) => c.req.header("hx-request") === "true";
const TIME_ZONES = ["UTC", ...Intl.supportedValuesOf("timeZone").filter((z) => z !== "UTC")];

function rowsOf(c: Ctx, jobs: BackupConfigRecord[]) {
  const { db, clock } = c.get("services");
  const p = currentPrincipal(c);
  const latest = latestLogsByConfig(
    db,
    jobs.map((j) => j.id),
  );
  const emails = isAdmin(p) ? new Map(listUsers(db).map((u) => [u.id, u.email])) : new Map<string, string>();
  return jobs.map((j) =>
    configRow(j, latest.get(j.id), clock.now(), j.userId === p.id ? null : (emails.get(j.userId) ?? "?")),
  );
}

/** The owner column is shown only to an admin who sees other users' jobs too. */
function ownerColumn(c: Ctx): boolean {
  const p = currentPrincipal(c);
  return isAdmin(p) && visibleConfigs(c.get("services").db, p).some((j) => j.userId !== p.id);
}

function renderRow(c: Ctx, job: BackupConfigRecord, notice?: string, runLogId?: string) {
  const [row] = rowsOf(c, [job]);
  const html = c.get("services").renderer.partial("config-row", {
    row: { ...row, notice, runLogId },
    csrf: c.get("session")?.csrfToken ?? null,
    showOwner: ownerColumn(c),
  });
  return c.html(html);
}

function renderForm(
  c: Ctx,
  job: BackupConfigRecord | null,
  values: FormValues,
  errors: Record<string, string> = {},
  status: 200 | 400 | 403 = 200,
) {
  const ownerId = job?.userId ?? currentPrincipal(c).id;
  const destinations = listDestinationRows(c.get("services").db, ownerId).map((d) => ({
    id: d.id,
    name: d.name,
  }));
  // A new job with a single destination to choose from: choose it.
  const only = destinations.length === 1 ? destinations[0]?.id : undefined;
  if (!job && only && !values.fields.destinationId) values.fields.destinationId = only;
  return renderPage(
    c,
    "config-form",
    {
      title: job ? `Edit ${job.name}` : "New backup job",
      job: job ? { id: job.id, name: job.name } : null,
      values,
      errors,
      destinations,
      timeZones: TIME_ZONES,
      scheduleChoices: SCHEDULE_CHOICES,
      canHooks: isAdmin(currentPrincipal(c)),
    },
    status,
  );
}

/** The submitted form as values to show again (source rows compacted like the parsed shape). */
function echoValues(form: Record<string, string>): FormValues {
  const sources = formSourceIndexes(form).map((i) => ({
    path: form[`sources.${i}.path`] ?? "",
    includePatterns: form[`sources.${i}.includePatterns`] ?? "",
    excludePatterns: form[`sources.${i}.excludePatterns`] ?? "",
  }));
  return { fields: form, sources };
}

async function saveForm(c: Ctx, job: BackupConfigRecord | null) {
  const form = await readForm(c);
  try {
    const input = parseConfigInput(formToInput(form));
    const services = c.get("services");
    const saved = job
      ? updateConfig(services, currentPrincipal(c), job.id, input, actionContext(c))
      : createConfig(services, currentPrincipal(c), input, actionContext(c));
    reschedule(c, saved.id);
    return c.redirect(`/configs?notice=${job ? "config-saved" : "config-created"}`, 303);
  } catch (error) {
    const { status, errors } = formFailure(c, error);
    return renderForm(c, job, echoValues(form), errors, status === 403 ? 403 : 400);
  }
}

export function configsPageRoutes() {
  const pages = new Hono<AppEnv>();
  pages.use("*", requireUser());

  pages.get("/", (c) => {
    const p = currentPrincipal(c);
    const rows = rowsOf(c, visibleConfigs(c.get("services").db, p));
    const hasDestinations = listDestinationRows(c.get("services").db, p.id).length > 0;
    return renderPage(c, "configs", {
      title: "Backup jobs",
      rows,
      running: runningNowView(c),
      showOwner: ownerColumn(c),
      hasDestinations,
    });
  });

  pages.get("/new", (c) => renderForm(c, null, newFormValues(serverTimeZone())));
  pages.post("/", (c) => saveForm(c, null));

  pages.post("/check", async (c) => {
    const form = await readForm(c);
    const field = c.req.query("field") ?? "";
    const message = fieldCheck(c, form, field);
    const id = field.replace(/\./g, "-");
    return c.html(c.get("services").renderer.partial("config-error", { id, error: message }));
  });

  pages.get("/source-row", (c) => {
    const taken = Object.keys(c.req.query()).map((k) => Number(/^sources\.(\d+)\./.exec(k)?.[1] ?? -1));
    const index = Math.min(99, Math.max(-1, ...taken) + 1);
    const source = { path: "", includePatterns: "", excludePatterns: "" };
    const job = c.req.query("job");
    const jobQuery = job ? `&job=${encodeURIComponent(job)}` : "";
    return c.html(
      c.get("services").renderer.partial("config-source", { index, source, errors: {}, jobQuery }),
    );
  });

  pages.get("/:id/edit", (c) => {
    const job = visibleConfig(c.get("services").db, currentPrincipal(c), c.req.param("id"));
    return renderForm(c, job, recordFormValues(job));
  });

  pages.post("/:id", (c) =>
    saveForm(c, visibleConfig(c.get("services").db, currentPrincipal(c), c.req.param("id"))),
  );

  pages.post("/:id/delete", (c) => {
    const id = c.req.param("id");
    try {
      deleteConfig(c.get("services"), currentPrincipal(c), id, actionContext(c));
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      const job = visibleConfig(c.get("services").db, currentPrincipal(c), id);
      return renderForm(c, job, recordFormValues(job), { form: error.message }, 400);
    }
    reschedule(c, id);
    if (isHtmx(c)) {
      c.header("HX-Redirect", "/configs?notice=config-deleted");
      return c.body(null, 204);
    }
    return c.redirect("/configs?notice=config-deleted", 303);
  });

  pages.post("/:id/enabled", async (c) => {
    const form = await readForm(c);
    const enabled = form.enabled === "1";
    const job = setConfigEnabledFor(
      c.get("services"),
      currentPrincipal(c),
      c.req.param("id"),
      enabled,
      actionContext(c),
    );
    reschedule(c, job.id);
    if (isHtmx(c)) return renderRow(c, job, enabled ? "Enabled." : "Disabled: no scheduled runs.");
    return c.redirect("/configs?notice=config-saved", 303);
  });

  pages.post("/:id/run", async (c) => {
    const services = c.get("services");
    const job = visibleConfig(services.db, currentPrincipal(c), c.req.param("id"));
    // RUNNER's startRun: the same queueing and audit entry as POST /api/backups/execute/:id.
    const { logId } = await startRun(services, currentPrincipal(c), job.id, actionContext(c));
    if (!isHtmx(c)) return c.redirect(`/backups/${encodeURIComponent(logId)}`, 303);
    return renderRow(c, job, "Run started.", logId);
  });

  pages.post("/:id/validate", async (c) => {
    const job = visibleConfig(c.get("services").db, currentPrincipal(c), c.req.param("id"));
    const report = await runValidation(c, job.id);
    const zone = job.schedule.timezone;
    const nextRunsLocal = report.schedule.nextRuns.map((t) => formatInZone(new Date(t), zone));
    const data = {
      report: { ...report, schedule: { ...report.schedule, nextRunsLocal } },
      bytes: formatBytes,
    };
    if (isHtmx(c)) return c.html(c.get("services").renderer.partial("config-validation", data));
    return renderPage(c, "config-validation-page", { title: `Validate ${job.name}`, job, ...data });
  });

  return new Hono<AppEnv>().route("/configs", pages);
}
