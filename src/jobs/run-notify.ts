/**
 * What the outside world hears about runs and alerts: notifications on every alert raise or
 * repeat (the dispatcher decides which repeats are worth a message) and on successful runs, and
 * the job's healthchecks-style ping on start, success and failure. Nothing here is awaited by a
 * run: a slow receiver never holds up a backup, and nothing here ever rejects.
 */
import { type AlertRow, alertJson } from "../db/alerts.ts";
import { type BackupConfigRecord, findConfigRecord } from "../db/backup-configs.ts";
import { type BackupLogRow, findLog, logJson } from "../db/backup-logs.ts";
import type { Db } from "../db/client.ts";
import { allowPrivateTargets } from "../notify/channels.ts";
import { type DispatchDeps, dispatchNotification } from "../notify/dispatch.ts";
import { type PingState, pingHealthcheck } from "../notify/healthcheck.ts";

/** The job's name for messages ("Backup “Home” failed"), when the alert concerns a job. */
function configRef(db: Db, configId: string | null, name?: string) {
  if (!configId) return undefined;
  if (name !== undefined) return { id: configId, name };
  const config = findConfigRecord(db, configId);
  return config ? { id: config.id, name: config.name } : undefined;
}

/** Tells the alert's owner (their channels that chose its kind); the dispatcher throttles repeats. */
export function notifyAlert(notify: DispatchDeps | undefined, row: AlertRow, jobName?: string): void {
  if (!notify) return;
  const config = configRef(notify.db, row.configId, jobName);
  void dispatchNotification(notify, {
    kind: "alert",
    alert: alertJson(row),
    user: { id: row.userId },
    ...(config ? { config } : {}),
  });
}

/** A successful run (completed or partial): the `run_succeeded` event, for channels that want it. */
export function notifyRunSucceeded(
  notify: DispatchDeps | undefined,
  config: BackupConfigRecord,
  logId: string,
) {
  if (!notify) return;
  const row = findLog(notify.db, logId);
  if (!row) return;
  void dispatchNotification(notify, {
    kind: "run_succeeded",
    log: logJson(row),
    user: { id: config.userId },
    config: { id: config.id, name: config.name },
  });
}

function pingBody(config: BackupConfigRecord, log: BackupLogRow, state: PingState): string {
  const head = `backapp job "${config.name}" (${config.id}), run ${log.id}`;
  if (state === "start") return `${head} started (${log.trigger})`;
  const lines = [
    `${head}: ${log.status}`,
    `files: ${log.filesProcessed} (${log.filesSkipped} unreadable), bytes added: ${log.bytesTransferred}`,
    `duration: ${Math.round((log.durationMs ?? 0) / 1000)} s`,
  ];
  if (log.reason) lines.push(`reason: ${log.reason}`);
  return lines.join("\n");
}

/**
 * Pings the job's healthcheck URL (if it has one). A run that made a snapshot is a success (a
 * partial run too: the monitor is about "a backup happened"; unreadable files raise an alert);
 * failed and cancelled runs ping /fail, since no backup was made.
 */
export function pingRun(
  notify: DispatchDeps | undefined,
  config: BackupConfigRecord,
  logId: string,
  state: PingState,
): void {
  const url = config.options.healthcheckUrl;
  if (!notify || !url) return;
  const log = findLog(notify.db, logId);
  if (!log) return;
  const body = pingBody(config, log, state);
  const options = { allowPrivate: allowPrivateTargets(notify.db), userAgent: notify.userAgent, body };
  void pingHealthcheck(url, state, options).catch((e: Error) =>
    notify.logger.warn(
      { configId: config.id, logId, state, err: { message: e.message } },
      "healthcheck ping failed",
    ),
  );
}

/** The end of a run: its ping and, on success, the run_succeeded notification. */
export function announceRunEnd(
  notify: DispatchDeps | undefined,
  config: BackupConfigRecord,
  logId: string,
  status: string,
): void {
  const ok = status === "completed" || status === "partial";
  pingRun(notify, config, logId, ok ? "success" : "fail");
  if (ok) notifyRunSucceeded(notify, config, logId);
}
