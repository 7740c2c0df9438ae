/**
 * /settings/notifications: the user's email and webhook channels, which events each delivers, a
 * "send test" button (htmx swaps in the result; without JavaScript the page re-renders) and the
 * delivery log. Mounted at its prefix; the same actions as the JSON API (src/web/notify.ts).
 */
import type { Context } from "hono";
import { Hono } from "hono";
import {
  type ChannelSummary,
  channelInputSchema,
  channelSummary,
  getChannel,
} from "../../notify/channels.ts";
import { ALERT_KINDS, NOTIFY_EVENTS } from "../../notify/notifier.ts";
import { WEBHOOK_FORMATS } from "../../notify/webhook.ts";
import type { AppEnv } from "../context.ts";
import { checkbox, echo, formFailure, parseWith, readForm, renderPage } from "../forms.ts";
import { requireUser } from "../middleware/guards.ts";
import {
  channelsOf,
  deleteChannel,
  deliveriesOf,
  saveChannel,
  saveNewChannel,
  testChannel,
} from "../notify.ts";

type Ctx = Context<AppEnv>;

const EVENT_LABELS: Record<(typeof NOTIFY_EVENTS)[number], string> = {
  failed_run: "A backup failed",
  unreadable_files: "A backup could not read some files",
  missed_schedule: "A scheduled backup was missed",
  interrupted: "A backup was interrupted",
  no_recent_success: "A job has had no successful backup for too long",
  destination_unreachable: "A destination cannot be reached",
  check_failed: "A repository check failed",
  restore_failed: "A restore failed or could not write some files",
  run_succeeded: "Every successful backup (can be a lot of messages)",
};

/** The form's fields as the shared schema's input; each event is a checkbox `event-<name>`. */
function inputFromForm(form: Record<string, string>) {
  return {
    type: form.type,
    name: form.name,
    target: form.target,
    format: form.format || "generic",
    secret: form.secret,
    events: NOTIFY_EVENTS.filter((e) => checkbox(form, `event-${e}`)),
    enabled: checkbox(form, "enabled"),
  };
}

function formValues(form: Record<string, string>) {
  const events = NOTIFY_EVENTS.filter((e) => checkbox(form, `event-${e}`));
  return {
    ...echo(form, "type", "name", "format"),
    target: form.type === "email" ? form.target : "",
    events,
    enabled: checkbox(form, "enabled"),
  };
}

const NEW_CHANNEL = { type: "email", format: "generic", events: [...ALERT_KINDS], enabled: true };

function render(c: Ctx, extra: Record<string, unknown> = {}, status: Parameters<typeof renderPage>[3] = 200) {
  return renderPage(
    c,
    "notifications",
    {
      title: "Notifications",
      channels: channelsOf(c),
      deliveries: deliveriesOf(c, { limit: 30 }),
      events: NOTIFY_EVENTS.map((name) => ({ name, label: EVENT_LABELS[name] })),
      formats: WEBHOOK_FORMATS,
      values: NEW_CHANNEL,
      ...extra,
    },
    status,
  );
}

function editing(c: Ctx, id: string): ChannelSummary {
  return channelSummary(getChannel(c.get("services").db, c.get("user")?.id ?? "", id));
}

export function notificationPageRoutes() {
  const app = new Hono<AppEnv>();
  app.use("*", requireUser());

  app.get("/", (c) => render(c));

  app.post("/", async (c) => {
    const form = await readForm(c);
    try {
      const { channel, generatedSecret } = saveNewChannel(
        c,
        parseWith(channelInputSchema, inputFromForm(form)),
      );
      if (!generatedSecret) return c.redirect("/settings/notifications?notice=channel-saved", 303);
      return render(c, { created: { name: channel.name, secret: generatedSecret } });
    } catch (error) {
      const { status, errors } = formFailure(c, error);
      return render(c, { errors, values: formValues(form) }, status);
    }
  });

  app.get("/:id", (c) => {
    const channel = editing(c, c.req.param("id"));
    return render(c, {
      editing: channel,
      values: { ...channel, target: channel.type === "email" ? channel.target : "" },
    });
  });

  app.post("/:id", async (c) => {
    const id = c.req.param("id");
    const channel = editing(c, id);
    const form = await readForm(c);
    try {
      saveChannel(c, id, parseWith(channelInputSchema, { ...inputFromForm(form), type: channel.type }));
      return c.redirect("/settings/notifications?notice=channel-saved", 303);
    } catch (error) {
      const { status, errors } = formFailure(c, error);
      return render(
        c,
        { editing: channel, errors, values: { ...formValues(form), type: channel.type } },
        status,
      );
    }
  });

  app.post("/:id/remove", (c) => {
    deleteChannel(c, c.req.param("id"));
    return c.redirect("/settings/notifications?notice=channel-removed", 303);
  });

  app.post("/:id/test", async (c) => {
    const channel = editing(c, c.req.param("id"));
    const outcome = await testChannel(c, channel.id);
    const ok = outcome.status === "sent";
    const message = ok
      ? `A test notification was sent to “${channel.name}”.`
      : `The test notification to “${channel.name}” failed: ${outcome.error}`;
    if (c.req.header("HX-Request")) {
      const html = c.get("services").renderer.partial("notify-test-result", { ok, message });
      return c.html(html, 200);
    }
    return render(c, { flash: [{ kind: ok ? "success" : "error", message }] }, ok ? 200 : 502);
  });

  return app;
}
