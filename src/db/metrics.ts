/**
 * Aggregates for the Prometheus endpoint, each one grouped query over indexed columns: users by
 * role, open alerts, runs by job and status, and per job the last success, the last run's
 * duration and the bytes added.
 */
import { and, count, eq, isNull, max, sql, sum } from "drizzle-orm";
import type { Db } from "./client.ts";
import { alerts, backupConfigs, backupLogs, users } from "./schema.ts";

export function usersByRole(db: Db) {
  return db
    .select({ role: users.role, disabled: users.disabled, n: count() })
    .from(users)
    .groupBy(users.role, users.disabled)
    .all();
}

/** Unresolved alerts by severity, kind and whether someone acknowledged them. */
export function openAlerts(db: Db) {
  return db
    .select({ type: alerts.type, kind: alerts.kind, acknowledged: alerts.acknowledged, n: count() })
    .from(alerts)
    .where(isNull(alerts.resolvedAt))
    .groupBy(alerts.type, alerts.kind, alerts.acknowledged)
    .all();
}

/** Backup runs in the history by job and status (runs of deleted jobs are gone with them). */
export function runsByJob(db: Db) {
  return db
    .select({
      configId: backupLogs.configId,
      name: backupConfigs.name,
      status: backupLogs.status,
      n: count(),
      bytes: sum(backupLogs.bytesTransferred).mapWith(Number),
    })
    .from(backupLogs)
    .innerJoin(backupConfigs, eq(backupConfigs.id, backupLogs.configId))
    .where(eq(backupLogs.kind, "backup"))
    .groupBy(backupLogs.configId, backupLogs.status)
    .all();
}

/** Per job: end time (ms) of the last successful backup, null when none yet. */
export function lastSuccessByJob(db: Db) {
  return db
    .select({
      configId: backupConfigs.id,
      name: backupConfigs.name,
      at: max(sql<number>`coalesce(${backupLogs.endTime}, ${backupLogs.startTime})`),
    })
    .from(backupConfigs)
    .leftJoin(
      backupLogs,
      and(
        eq(backupLogs.configId, backupConfigs.id),
        eq(backupLogs.kind, "backup"),
        eq(backupLogs.status, "completed"),
      ),
    )
    .groupBy(backupConfigs.id)
    .all();
}

/** Per job: duration (ms) of its most recent finished backup. */
export function lastDurationByJob(db: Db) {
  return db
    .select({ configId: backupLogs.configId, name: backupConfigs.name, durationMs: backupLogs.durationMs })
    .from(backupLogs)
    .innerJoin(backupConfigs, eq(backupConfigs.id, backupLogs.configId))
    .where(
      sql`${backupLogs.kind} = 'backup' and ${backupLogs.durationMs} is not null and ${backupLogs.startTime} = (
        select max(l2.start_time) from backup_logs l2
        where l2.config_id = ${backupLogs.configId} and l2.kind = 'backup' and l2.duration_ms is not null)`,
    )
    .all();
}
