/**
 * Admin settings as a page (/admin/settings) and JSON (/api/settings/...): outgoing email (SMTP),
 * whether webhooks may reach private addresses, who may read /metrics, and the runner's limits.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { z } from "zod";
import { audit } from "../../auth/accounts.ts";
import {
  type RunSettingsInput,
  readRunSettings,
  runSettingsInputSchema,
  saveRunSettings,
} from "../../jobs/run-settings.ts";
import { allowPrivateTargets, setAllowPrivateTargets } from "../../notify/channels.ts";
import {
  deleteSmtpSettings,
  type SmtpInput,
  saveSmtpSettings,
  smtpInputSchema,
  smtpSummary,
} from "../../notify/smtp-settings.ts";
import { NotFoundError } from "../../util/errors.ts";
import type { AppEnv } from "../context.ts";
import { errorResponse } from "../errors.ts";
import {
  actionContext,
  checkbox,
  echo,
  formFailure,
  jsonBody,
  parseWith,
  readForm,
  renderPage,
} from "../forms.ts";
import { resolveMail } from "../mail.ts";
import {
  metricsAccessInputSchema,
  metricsAccessSummary,
  newMetricsToken,
  setMetricsMode,
} from "../metrics-access.ts";
import { requireAdmin } from "../middleware/guards.ts";

type Ctx = Context<AppEnv>;

function smtpState(c: Ctx) {
  const { db, security } = c.get("services");
  const settings = smtpSummary(db);
  const source = security.mailer ? "env" : settings ? "settings" : "none";
  return { source, settings };
}

function save(c: Ctx, input: SmtpInput) {
  const { db, dataDir, clock } = c.get("services");
  const summary = saveSmtpSettings(db, dataDir, input, clock.now());
  const { passwordSet: _set, ...shown } = summary;
  audit(c.get("services"), "settings.smtp", {
    ...actionContext(c),
    details: { ...shown, passwordChanged: Boolean(input.user && input.password) },
  });
}

function remove(c: Ctx) {
  deleteSmtpSettings(c.get("services").db);
  audit(c.get("services"), "settings.smtp_removed", actionContext(c));
}

/** Sends a test message to the signed-in admin; the error text (server replies, no secrets) or null. */
async function sendTest(c: Ctx): Promise<string | null> {
  const user = c.get("user");
  if (!user) throw new NotFoundError("not signed in");
  try {
    const mail = resolveMail(c);
    if (!mail) return "No mail server is configured.";
    await mail.mailer.send({
      to: user.email,
      subject: "backapp test email",
      text: "This is a test message from backapp: outgoing email works.",
    });
    audit(c.get("services"), "settings.smtp_test", { ...actionContext(c), details: { ok: true } });
    return null;
  } catch (error) {
    const message = (error as Error).message;
    audit(c.get("services"), "settings.smtp_test", { ...actionContext(c), details: { ok: false, message } });
    return message;
  }
}

const notifySettingsSchema = z.object({
  allowPrivateTargets: z.boolean({ error: "Enter true or false." }),
});

function notifySettings(c: Ctx) {
  return { allowPrivateTargets: allowPrivateTargets(c.get("services").db) };
}

function saveNotifySettings(c: Ctx, input: z.output<typeof notifySettingsSchema>) {
  const { db, clock } = c.get("services");
  setAllowPrivateTargets(db, input.allowPrivateTargets, clock.now());
  audit(c.get("services"), "settings.notifications", { ...actionContext(c), details: input });
}

function saveMetricsMode(c: Ctx, input: z.output<typeof metricsAccessInputSchema>) {
  const { db, clock } = c.get("services");
  setMetricsMode(db, input.mode, clock.now());
  audit(c.get("services"), "settings.metrics", { ...actionContext(c), details: input });
}

function makeMetricsToken(c: Ctx): string {
  const { db, clock } = c.get("services");
  const token = newMetricsToken(db, clock.now());
  audit(c.get("services"), "settings.metrics_token", actionContext(c));
  return token;
}

function saveRuns(c: Ctx, input: RunSettingsInput) {
  const services = c.get("services");
  const before = readRunSettings(services.db);
  saveRunSettings(services.db, input, services.clock.now());
  services.jobs.runSettingsChanged();
  audit(services, "settings.runs", { ...actionContext(c), details: { before, after: input } });
}

function renderSettings(c: Ctx, extra: Record<string, unknown> = {}, status: 200 | 400 | 502 = 200) {
  const state = smtpState(c);
  const s = state.settings;
  const values = s
    ? { ...s, port: String(s.port), user: s.user ?? "" }
    : { port: "587", security: "starttls" };
  return renderPage(
    c,
    "admin-settings",
    {
      title: "Settings",
      ...state,
      values,
      notify: notifySettings(c),
      metrics: metricsAccessSummary(c.get("services").db),
      runs: readRunSettings(c.get("services").db),
      ...extra,
    },
    status,
  );
}

export function settingsRoutes() {
  const app = new Hono<AppEnv>();
  for (const path of ["/admin/settings", "/admin/settings/*", "/api/settings/*"]) {
    app.use(path, requireAdmin());
  }

  app.get("/admin/settings", (c) => renderSettings(c));

  app.post("/admin/settings/smtp", async (c) => {
    const form = await readForm(c);
    try {
      save(c, parseWith(smtpInputSchema, form));
      return c.redirect("/admin/settings?notice=smtp-saved", 303);
    } catch (error) {
      const { errors } = formFailure(c, error);
      return renderSettings(
        c,
        { errors, values: echo(form, "host", "port", "security", "user", "from") },
        400,
      );
    }
  });

  app.post("/admin/settings/smtp/remove", (c) => {
    remove(c);
    return c.redirect("/admin/settings?notice=smtp-removed", 303);
  });

  app.post("/admin/settings/smtp/test", async (c) => {
    const problem = await sendTest(c);
    const flash = problem
      ? { kind: "error", message: `The test email failed: ${problem}` }
      : { kind: "success", message: `A test email was sent to ${c.get("user")?.email}.` };
    return renderSettings(c, { flash: [flash] }, problem ? 502 : 200);
  });

  app.post("/admin/settings/notifications", async (c) => {
    const form = await readForm(c);
    saveNotifySettings(c, { allowPrivateTargets: checkbox(form, "allowPrivateTargets") });
    return c.redirect("/admin/settings?notice=notify-settings-saved", 303);
  });

  app.get("/api/settings/notifications", (c) => c.json(notifySettings(c)));

  app.post("/admin/settings/metrics", async (c) => {
    const form = await readForm(c);
    try {
      saveMetricsMode(c, parseWith(metricsAccessInputSchema, form));
      return c.redirect("/admin/settings?notice=metrics-saved", 303);
    } catch (error) {
      return renderSettings(c, { metricsErrors: formFailure(c, error).errors }, 400);
    }
  });

  app.post("/admin/settings/metrics/token", (c) => renderSettings(c, { metricsToken: makeMetricsToken(c) }));

  app.get("/api/settings/metrics", (c) => c.json(metricsAccessSummary(c.get("services").db)));

  app.put("/api/settings/metrics", jsonBody(metricsAccessInputSchema), (c) => {
    saveMetricsMode(c, c.req.valid("json"));
    return c.json(metricsAccessSummary(c.get("services").db));
  });

  app.post("/api/settings/metrics/token", (c) => c.json({ token: makeMetricsToken(c) }, 201));

  app.put("/api/settings/notifications", jsonBody(notifySettingsSchema), (c) => {
    saveNotifySettings(c, c.req.valid("json"));
    return c.json(notifySettings(c));
  });

  app.post("/admin/settings/runs", async (c) => {
    const form = await readForm(c);
    try {
      saveRuns(c, parseWith(runSettingsInputSchema, form));
      return c.redirect("/admin/settings?notice=runs-saved", 303);
    } catch (error) {
      const runsErrors = formFailure(c, error).errors;
      const runs = echo(form, "concurrency", "missedRunGraceMinutes", "pruneEveryHours");
      return renderSettings(c, { runsErrors, runs }, 400);
    }
  });

  app.get("/api/settings/runs", (c) => c.json(readRunSettings(c.get("services").db)));

  app.put("/api/settings/runs", jsonBody(runSettingsInputSchema), (c) => {
    saveRuns(c, c.req.valid("json"));
    return c.json(readRunSettings(c.get("services").db));
  });

  app.get("/api/settings/smtp", (c) => c.json(smtpState(c)));

  app.put("/api/settings/smtp", jsonBody(smtpInputSchema), (c) => {
    save(c, c.req.valid("json"));
    return c.json(smtpState(c));
  });

  app.delete("/api/settings/smtp", (c) => {
    remove(c);
    return c.body(null, 204);
  });

  app.post("/api/settings/smtp/test", async (c) => {
    const problem = await sendTest(c);
    return problem ? errorResponse(c, 502, `The test email failed: ${problem}`) : c.body(null, 204);
  });

  return app;
}
