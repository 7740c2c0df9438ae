/**
 * Live views of backup runs over SSE (src/web/sse.ts):
 * - `GET /api/backups/:id/events`: `progress` events (the ProgressData JSON, at most about
 *   four a second), then one `done` event with the run's log JSON; ids are the state's time so a
 *   reconnect (Last-Event-ID) gets the newest state and goes on;
 * - `GET /backups/:id/live`: the run page's status card as HTML (htmx's SSE extension swaps each
 *   unnamed message in), ending with the summary and a `done` event that closes the connection;
 * - `GET /backups/live/running`: the "running now" list of the user's active runs (everyone's for
 *   an admin) plus out-of-band cells for the /configs rows; open while the page is.
 * Only the run's owner or an admin may listen (others get 404); the per-user cap answers 429.
 */
import type { Context, Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { isAdmin } from "../../auth/permissions.ts";
import { findConfigRecord } from "../../db/backup-configs.ts";
import { activeLogs, type BackupLogRow, logJson } from "../../db/backup-logs.ts";
import { principalFor, visibleLog } from "../../jobs/backups.ts";
import { formatBytes, formatDuration } from "../../util/bytes.ts";
import type { AppEnv } from "../context.ts";
import { type ActiveRun, activeRunsFeed, type RunView, runFeed } from "../run-feed.ts";
import { liveStateOf, type ProgressData, progressData, type RunLiveState } from "../run-tracker.ts";
import { liveStream } from "../sse.ts";

type Ctx = Context<AppEnv>;

const PHASES: Record<ProgressData["phase"], string> = {
  queued: "Waiting to start",
  starting: "Starting",
  "backing-up": "Backing up",
  finished: "Finished",
};

/** A run's live counters as the templates show them. */
export function liveFormat(d: ProgressData) {
  const known = d.bytesTotal > 0 && d.phase === "backing-up";
  return {
    phaseLabel: PHASES[d.phase],
    percent: known ? Math.min(100, Math.floor((d.bytesDone * 100) / d.bytesTotal)) : null,
    files: d.filesTotal > 0 ? `${d.filesDone} of ${d.filesTotal}` : String(d.filesDone),
    bytes:
      d.bytesTotal > 0
        ? `${formatBytes(d.bytesDone)} of ${formatBytes(d.bytesTotal)}`
        : formatBytes(d.bytesDone),
    uploaded: d.bytesUploaded === null ? "—" : formatBytes(d.bytesUploaded),
    rate: d.rate > 0 ? `${formatBytes(Math.round(d.rate))}/s` : "—",
    eta: d.eta === null ? "—" : formatDuration(d.eta * 1000),
    errors: String(d.errors),
    currentPath: d.currentPath,
  };
}

export type LiveFormat = ReturnType<typeof liveFormat>;

const liveOf = (state: RunLiveState, row: BackupLogRow) => liveFormat(progressData(state, row));

const jsonView: RunView = {
  progress: (state, row) => ({
    event: "progress",
    id: String(state.at),
    data: JSON.stringify(progressData(state, row)),
  }),
  done: (row) => [{ event: "done", id: "done", data: JSON.stringify(logJson(row)) }],
};

/** The run page's card body for a row (the pages module's view data) and, while it runs, its counters. */
export type StatusData = (c: Ctx, row: BackupLogRow) => Record<string, unknown> & { active: boolean };

function htmlView(c: Ctx, statusData: StatusData): RunView {
  const body = (row: BackupLogRow, live: LiveFormat | null) =>
    c.get("services").renderer.partial("backup-run-body", { ...statusData(c, row), live });
  return {
    progress: (state, row) => ({ id: String(state.at), data: body(row, liveOf(state, row)) }),
    done: (row) => [{ data: body(row, null) }, { event: "done", data: "" }],
  };
}

/** Active runs `c`'s user may see, oldest first. */
function visibleActive(c: Ctx): BackupLogRow[] {
  const p = principalFor(c.get("user"));
  const all = activeLogs(c.get("services").db);
  return isAdmin(p) ? all : all.filter((r) => r.userId === p.id);
}

function jobNames(c: Ctx): (configId: string | null) => string {
  const names = new Map<string, string>();
  return (id) => {
    if (!id) return "(deleted job)";
    if (!names.has(id)) names.set(id, findConfigRecord(c.get("services").db, id)?.name ?? "(deleted job)");
    return names.get(id) as string;
  };
}

/** The data of the "running now" partial (and, with `cells`, the /configs rows' live cells). */
function runningData(c: Ctx, runs: ActiveRun[], finished: BackupLogRow[] = [], oob = false) {
  const name = jobNames(c);
  const live = runs.map(({ row, state }) => ({
    id: row.id,
    configId: row.configId,
    jobName: name(row.configId),
    live: liveOf(state, row),
  }));
  const cells = !oob
    ? []
    : [
        ...live.flatMap((x) =>
          x.configId ? [{ configId: x.configId, logId: x.id, live: x.live, oob }] : [],
        ),
        ...finished.flatMap((r) =>
          r.configId
            ? [
                {
                  configId: r.configId,
                  oob,
                  last: {
                    id: r.id,
                    status: r.status,
                    age: "just now",
                    when: new Date(r.startTime).toISOString(),
                  },
                },
              ]
            : [],
        ),
      ];
  return { runs: live, cells };
}

/** The counters of an active run for the first render of its page; null once it has ended. */
export function initialLive(c: Ctx, row: BackupLogRow): LiveFormat | null {
  if (row.status !== "queued" && row.status !== "running") return null;
  return liveOf(liveStateOf(c.get("services").events, row), row);
}

/** The "running now" region as first rendered (DASH's dashboard and /configs include it). */
export function runningNowView(c: Ctx) {
  const { events } = c.get("services");
  const runs = visibleActive(c).map((row) => ({ row, state: liveStateOf(events, row) }));
  return runningData(c, runs);
}

/** Adds the API's event stream to the /api/backups sub-app. */
export function addRunEventsApi(api: Hono<AppEnv>): void {
  api.get("/:id/events", (c) => {
    const p = principalFor(c.get("user"));
    const row = visibleLog(c.get("services").db, p, c.req.param("id"));
    return liveStream(c, p.id, runFeed(c.get("services"), row.id, jsonView));
  });
}

/**
 * A page's stream, where a full cap answers 429 as an event stream: htmx's SSE extension then
 * takes the answer instead of swapping an error page into the live region, which keeps showing
 * the state it was rendered with (`closing`: with a `done` event, so it does not retry).
 */
function pageStream(make: () => Response, closing: boolean): Response {
  try {
    return make();
  } catch (e) {
    if (!(e instanceof HTTPException) || e.status !== 429) throw e;
    return new Response(closing ? "event: done\ndata: \n\n" : ": too many live views\n\n", {
      status: 429,
      headers: { "content-type": "text/event-stream", "cache-control": "no-store", "retry-after": "30" },
    });
  }
}

/** Adds the pages' live streams to the /backups sub-app (before its `/:id` routes). */
export function addLivePages(pages: Hono<AppEnv>, statusData: StatusData): void {
  pages.get("/live/running", (c) => {
    const p = principalFor(c.get("user"));
    const view = {
      frame: (runs: ActiveRun[], done: BackupLogRow[]) => ({ data: runningHtml(c, runs, done) }),
    };
    const feed = activeRunsFeed(c.get("services"), isAdmin(p) ? null : p.id, () => visibleActive(c), view);
    return pageStream(() => liveStream(c, p.id, feed, { intervalMs: 1000 }), false);
  });
  pages.get("/:id/live", (c) => {
    const p = principalFor(c.get("user"));
    const row = visibleLog(c.get("services").db, p, c.req.param("id"));
    const feed = runFeed(c.get("services"), row.id, htmlView(c, statusData));
    return pageStream(() => liveStream(c, p.id, feed, { intervalMs: 500 }), true);
  });
}

function runningHtml(c: Ctx, runs: ActiveRun[], finished: BackupLogRow[]): string {
  return c.get("services").renderer.partial("running-now", runningData(c, runs, finished, true));
}
