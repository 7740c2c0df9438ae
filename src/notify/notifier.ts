/**
 * What a notification is about and the one interface every channel (email, webhook) implements.
 * Events come from the jobs side (an alert raised or repeated, a run that succeeded); the
 * dispatcher (dispatch.ts) picks the user's channels that want the event and hands each a
 * Notification through its Notifier.
 */

/** The alert kinds of issue 9 (and issue 10's restore_failed), in the order the settings page lists them. */
export const ALERT_KINDS = [
  "failed_run",
  "unreadable_files",
  "missed_schedule",
  "interrupted",
  "no_recent_success",
  "destination_unreachable",
  "check_failed",
  "restore_failed",
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/** Every event a channel can subscribe to: each alert kind, and every successful run. */
export const NOTIFY_EVENTS = [...ALERT_KINDS, "run_succeeded"] as const;
export type NotifyEventName = (typeof NOTIFY_EVENTS)[number];
/** What a delivery was for: a subscribed event, or the "send test" button. */
export type DeliveryEvent = NotifyEventName | "test";

/** The alert JSON shape of issue 9 (`GET /api/alerts` items); times are ISO 8601 strings. */
export interface AlertJson {
  id: string;
  type: "failure" | "warning" | "info";
  /** One of ALERT_KINDS; an unknown kind is delivered to nobody. */
  kind: string;
  configId: string | null;
  message: string;
  timestamp: string;
  lastSeen: string | null;
  count: number;
  acknowledged: boolean;
  resolvedAt: string | null;
}

/** The part of a backup log (run) a notification shows; more fields pass through unchanged. */
export interface RunLogJson {
  id: string;
  configId: string | null;
  status: string;
  startTime?: string | number | null;
  endTime?: string | number | null;
  durationMs?: number | null;
  filesProcessed?: number;
  bytesTransferred?: number;
  totalBytes?: number;
  snapshotId?: string | null;
  [more: string]: unknown;
}

/** Whose channels to use: the owner of the job or alert. */
export interface NotifyUser {
  id: string;
}

/** The optional job the event concerns, for readable messages ("Backup “Home” failed"). */
export interface NotifyConfigRef {
  id: string;
  name: string;
}

export type NotificationEvent =
  | { kind: "alert"; alert: AlertJson; user: NotifyUser; config?: NotifyConfigRef }
  | { kind: "run_succeeded"; log: RunLogJson; user: NotifyUser; config?: NotifyConfigRef };

/** A rendered notification, the same for every channel; each channel formats it its own way. */
export interface Notification {
  /** Unique per delivery (retries keep it): receivers can drop duplicates by it. */
  id: string;
  event: DeliveryEvent;
  severity: "failure" | "warning" | "info" | "success";
  title: string;
  text: string;
  /** ISO 8601 time the notification was made. */
  occurredAt: string;
  /** Where to look in the web UI, absolute when the public URL is known. */
  link: string | null;
  alert: AlertJson | null;
  run: RunLogJson | null;
}

/** One try to deliver, as the delivery log records it. */
export interface DeliveryAttempt {
  attempt: number;
  /** "sent": accepted; "retrying": failed, another try follows; "failed": failed for good. */
  status: "sent" | "retrying" | "failed";
  httpStatus: number | null;
  error: string | null;
}

/**
 * A channel able to deliver a Notification. deliver() reports every try through `onAttempt`
 * (retries included), resolves when the notification was accepted and rejects with the last
 * error once it gave up. It never throws for an unknown event; it never logs secrets.
 */
export interface Notifier {
  deliver(notification: Notification, onAttempt: (attempt: DeliveryAttempt) => void): Promise<void>;
}

/** The event name a channel subscribes to for this event, or null when it is not one. */
export function eventName(event: NotificationEvent): NotifyEventName | null {
  if (event.kind === "run_succeeded") return "run_succeeded";
  return (ALERT_KINDS as readonly string[]).includes(event.alert.kind)
    ? (event.alert.kind as AlertKind)
    : null;
}

const KIND_TITLES: Record<AlertKind, string> = {
  failed_run: "failed",
  unreadable_files: "could not read some files",
  missed_schedule: "missed its schedule",
  interrupted: "was interrupted",
  no_recent_success: "has no recent successful run",
  destination_unreachable: "cannot reach its destination",
  check_failed: "failed its repository check",
  restore_failed: "failed",
};

/** Title and text of an event (plain text, no markup: each channel escapes for its format). */
export function describeEvent(event: NotificationEvent): Pick<Notification, "severity" | "title" | "text"> {
  const restore = event.kind === "alert" && event.alert.kind === "restore_failed";
  const job = restore ? "A restore" : event.config ? `Backup “${event.config.name}”` : "A backup";
  if (event.kind === "run_succeeded") {
    const files = event.log.filesProcessed ?? 0;
    return { severity: "success", title: `${job} succeeded`, text: `${job} completed: ${files} files.` };
  }
  const { alert } = event;
  const what = KIND_TITLES[alert.kind as AlertKind] ?? alert.kind;
  const repeat = alert.count > 1 ? ` (seen ${alert.count} times)` : "";
  return { severity: alert.type, title: `${job} ${what}`, text: `${alert.message}${repeat}` };
}
