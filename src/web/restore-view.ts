/**
 * The restore page's view data (page and status partial alike): the restore's JSON, its sizes and
 * times for people, and while it runs the live counters it starts from (the page's script,
 * static/restore-live.js, then follows GET /api/restores/:id/events and fills the same fields).
 */
import type { Context } from "hono";
import type { BackupLogRow } from "../db/backup-logs.ts";
import { findDestinationRow } from "../db/destinations.ts";
import { restoreJson } from "../jobs/restores.ts";
import { formatBytes, formatDuration } from "../util/bytes.ts";
import type { AppEnv } from "./context.ts";
import { formatDate } from "./render.ts";
import { liveFormat } from "./routes/backups-live.ts";
import { liveStateOf, progressData } from "./run-tracker.ts";

const PHASES = {
  queued: "Waiting to start",
  starting: "Starting",
  "backing-up": "Restoring",
  finished: "Finished",
};

export function restoreView(c: Context<AppEnv>, row: BackupLogRow) {
  const { db, events } = c.get("services");
  const active = row.status === "queued" || row.status === "running";
  const live = active ? progressData(liveStateOf(events, row), row) : null;
  return {
    r: restoreJson(row),
    active,
    destination: row.destinationId ? (findDestinationRow(db, row.destinationId)?.name ?? null) : null,
    bytes: formatBytes(row.totalBytes),
    started: formatDate(row.startTime),
    ended: row.endTime === null ? "—" : formatDate(row.endTime),
    duration: row.durationMs === null ? "—" : formatDuration(row.durationMs),
    live: live ? { ...liveFormat(live), phaseLabel: PHASES[live.phase] } : null,
    csrf: c.get("session")?.csrfToken ?? null,
  };
}
