/**
 * The dispatcher: for an event, the owner's enabled channels that chose it, one Notifier each
 * (email or webhook), every try recorded in the delivery log. Channels are delivered in parallel
 * and independently: one failing receiver never holds up or fails another. dispatchNotification()
 * never rejects, so the alert-raising code can call it without awaiting.
 */
import type { Db } from "../db/client.ts";
import type { ChannelRow } from "../db/notifications.ts";
import { insertDelivery, listUserChannels, pruneDeliveries } from "../db/notifications.ts";
import type { Clock } from "../util/clock.ts";
import { newId } from "../util/ids.ts";
import type { Logger } from "../util/logger.ts";
import { allowPrivateTargets, channelEvents, getChannel, webhookSecrets } from "./channels.ts";
import type { Mailer } from "./email.ts";
import {
  type DeliveryAttempt,
  type DeliveryEvent,
  describeEvent,
  eventName,
  type Notification,
  type NotificationEvent,
  type Notifier,
} from "./notifier.ts";
import { DEFAULT_RETRY, type RetryPolicy, realSleep, withRetries } from "./retry.ts";
import { configuredMailer } from "./smtp-settings.ts";
import type { Resolver } from "./ssrf.ts";
import { createWebhookNotifier } from "./webhook.ts";

/** What the composition root has; see notificationDeps(). */
export interface NotificationServices {
  db: Db;
  dataDir: string;
  clock: Clock;
  logger: Logger;
  /** The mailer built from the SMTP_* environment, if any (it wins over admin settings). */
  envMailer?: Mailer | undefined;
  publicUrl: () => string;
  version: string;
}

/** DispatchDeps from the server's services: mail settings are looked up at each delivery. */
export function notificationDeps(s: NotificationServices): DispatchDeps {
  return {
    db: s.db,
    dataDir: s.dataDir,
    clock: s.clock,
    logger: s.logger,
    mailer: () => configuredMailer(s.envMailer, s.db, s.dataDir)?.mailer ?? null,
    publicUrl: s.publicUrl,
    userAgent: `backapp/${s.version}`,
  };
}

/** Delivery attempts older than this are pruned from the log. */
const DELIVERY_LOG_DAYS = 30;

export interface DispatchDeps {
  db: Db;
  dataDir: string;
  clock: Clock;
  logger: Logger;
  /** The mailer to use now (env SMTP, else admin settings), or null when none is configured. */
  mailer: () => Mailer | null;
  /** Base of links in notifications (BACKAPP_PUBLIC_URL or the listen URL, known once listening); "" for none. */
  publicUrl: () => string;
  /** "backapp/<version>", the User-Agent of webhook requests. */
  userAgent: string;
  sleep?: (ms: number) => Promise<void>;
  retry?: RetryPolicy;
  resolve?: Resolver;
}

export interface DeliveryOutcome {
  channelId: string;
  notificationId: string;
  status: "sent" | "failed";
  error: string | null;
}

function notificationFor(
  deps: DispatchDeps,
  event: NotificationEvent | null,
  name: DeliveryEvent,
): Notification {
  const base = deps.publicUrl().replace(/\/+$/, "");
  const described = event
    ? describeEvent(event)
    : {
        severity: "info" as const,
        title: "backapp test notification",
        text: "This channel works: backapp can reach it.",
      };
  const path =
    event?.kind === "alert"
      ? "/alerts"
      : event?.kind === "run_succeeded"
        ? `/backups/${event.log.id}`
        : "/settings/notifications";
  return {
    id: newId(),
    event: name,
    ...described,
    occurredAt: new Date(deps.clock.now()).toISOString(),
    link: base ? `${base}${path}` : null,
    alert: event?.kind === "alert" ? event.alert : null,
    run: event?.kind === "run_succeeded" ? event.log : null,
  };
}

function emailNotifier(deps: DispatchDeps, to: string): Notifier {
  return {
    deliver: (n, onAttempt) =>
      withRetries(
        async () => {
          const mailer = deps.mailer();
          if (!mailer) throw new Error("no mail server is configured (admin settings or SMTP_* environment)");
          const link = n.link ? `\n\nOpen backapp: ${n.link}` : "";
          await mailer.send({
            to,
            subject: `[backapp] ${n.title}`,
            heading: n.title,
            text: `${n.text}${link}\n\n— backapp (change which events notify you under Settings › Notifications)`,
          });
          return null;
        },
        onAttempt,
        { ...(deps.retry ?? DEFAULT_RETRY), attempts: Math.min(3, (deps.retry ?? DEFAULT_RETRY).attempts) },
        deps.sleep ?? realSleep,
      ),
  };
}

function notifierFor(deps: DispatchDeps, row: ChannelRow): Notifier {
  if (row.type === "email") return emailNotifier(deps, row.target);
  const { url, secret } = webhookSecrets(deps.dataDir, row);
  return createWebhookNotifier(
    { url, secret, format: row.format },
    {
      clock: deps.clock,
      allowPrivate: allowPrivateTargets(deps.db),
      userAgent: deps.userAgent,
      ...(deps.sleep ? { sleep: deps.sleep } : {}),
      ...(deps.retry ? { retry: deps.retry } : {}),
      ...(deps.resolve ? { resolve: deps.resolve } : {}),
    },
  );
}

/** Delivers to one channel, logging every try; never rejects. */
async function deliverTo(deps: DispatchDeps, row: ChannelRow, n: Notification): Promise<DeliveryOutcome> {
  const record = (a: DeliveryAttempt) =>
    insertDelivery(deps.db, {
      id: newId(),
      channelId: row.id,
      userId: row.userId,
      notificationId: n.id,
      event: n.event,
      ...a,
      at: deps.clock.now(),
    });
  const outcome = (error: string | null): DeliveryOutcome => {
    if (error)
      deps.logger.warn(
        { channelId: row.id, event: n.event, err: { message: error } },
        "notification not delivered",
      );
    return { channelId: row.id, notificationId: n.id, status: error ? "failed" : "sent", error };
  };
  let notifier: Notifier;
  try {
    notifier = notifierFor(deps, row);
  } catch (error) {
    // No try was possible (say, the sealed URL cannot be decrypted): that belongs in the log too.
    const message = (error as Error).message;
    record({ attempt: 1, status: "failed", httpStatus: null, error: message });
    return outcome(message);
  }
  try {
    await notifier.deliver(n, record);
    return outcome(null);
  } catch (error) {
    return outcome((error as Error).message);
  }
}

/**
 * Whether a repeat of an ongoing problem is worth a message: the 1st, 2nd, 4th, 8th… occurrence,
 * so a job failing every hour for a week sends 8 messages per channel, not 168.
 */
export function worthNotifying(event: NotificationEvent): boolean {
  if (event.kind !== "alert") return true;
  const n = event.alert.count;
  return n <= 1 || (n & (n - 1)) === 0;
}

/**
 * Notifies the event's user on every enabled channel that chose this event (repeats of an alert
 * only at occurrences 1, 2, 4, 8…: see worthNotifying). Resolves (never
 * rejects) with one outcome per channel once all deliveries ended, retries included.
 */
export async function dispatchNotification(
  deps: DispatchDeps,
  event: NotificationEvent,
): Promise<DeliveryOutcome[]> {
  try {
    const name = eventName(event);
    if (!name || !worthNotifying(event)) return [];
    const channels = listUserChannels(deps.db, event.user.id).filter(
      (c) => c.enabled && channelEvents(c).includes(name),
    );
    if (channels.length === 0) return [];
    pruneDeliveries(deps.db, deps.clock.now() - DELIVERY_LOG_DAYS * 86_400_000);
    return await Promise.all(channels.map((c) => deliverTo(deps, c, notificationFor(deps, event, name))));
  } catch (error) {
    deps.logger.error({ err: { message: (error as Error).message } }, "notification dispatch failed");
    return [];
  }
}

/** The "send test" button: one test notification to one of the user's channels (NotFoundError otherwise). */
export async function sendTestNotification(
  deps: DispatchDeps,
  userId: string,
  channelId: string,
): Promise<DeliveryOutcome> {
  const row = getChannel(deps.db, userId, channelId);
  return deliverTo(deps, row, notificationFor(deps, null, "test"));
}
