/**
 * LiveFeeds of backup runs for src/web/sse.ts: one run (the JSON API's `progress`/`done` events,
 * or the run page's HTML), and all of a user's active runs (the /configs rows and the dashboard's
 * "running now" list). How a state looks is the caller's `RunView`; the bookkeeping is here.
 */
import { type BackupLogRow, findLog } from "../db/backup-logs.ts";
import type { BusEvent } from "../events/types.ts";
import type { AppServices } from "./context.ts";
import { foldRunEvent, liveStateOf, type RunLiveState } from "./run-tracker.ts";
import type { LiveFeed, SseFrame } from "./sse.ts";

/** How one run's stream looks: a frame for a live state, the frames that end it. */
export interface RunView {
  progress(state: RunLiveState, row: BackupLogRow): SseFrame;
  done(row: BackupLogRow): SseFrame[];
}

function isActive(row: BackupLogRow): boolean {
  return row.status === "queued" || row.status === "running";
}

/** A numeric Last-Event-ID (the `at` of the last state the client saw), or null. */
function seenAt(lastEventId: string | null): number | null {
  return lastEventId && /^\d{1,16}$/.test(lastEventId) ? Number(lastEventId) : null;
}

/**
 * One run until it ends. On a reconnect the client gets the newest state unless it already has
 * it (its Last-Event-ID is that state's time), then the stream goes on; a run that has ended
 * answers its end frames at once.
 */
export function runFeed(services: AppServices, logId: string, view: RunView): LiveFeed {
  const { db, events } = services;
  let row = findLog(db, logId) as BackupLogRow;
  let state: RunLiveState | undefined;
  let unsent = false;
  const ended = (): { end: SseFrame[] } => {
    row = findLog(db, logId) ?? row;
    const last = unsent && state?.progress ? [view.progress(state, row)] : [];
    return { end: [...last, ...view.done(row)] };
  };
  return {
    accepts: (e) => e.logId === logId,
    initial(lastEventId) {
      row = findLog(db, logId) ?? row;
      if (!isActive(row)) return { frames: view.done(row), end: true };
      state = liveStateOf(events, row);
      const seen = seenAt(lastEventId);
      const frames = seen !== null && seen >= state.at ? [] : [view.progress(state, row)];
      return { frames, end: false };
    },
    apply(e) {
      if (e.type === "run.finished") return ended();
      const next = foldRunEvent(state, e);
      if (!next) return "ignore";
      if (e.type === "run.started") row = findLog(db, logId) ?? row;
      state = next;
      unsent = true;
      return "update";
    },
    latest() {
      unsent = false;
      return state ? view.progress(state, row) : null;
    },
  };
}

/** One active run in a list of them. */
export interface ActiveRun {
  row: BackupLogRow;
  state: RunLiveState;
}

/** How the list of active runs looks: one frame for the whole list, plus what changed. */
export interface ActiveRunsView {
  frame(runs: ActiveRun[], finished: BackupLogRow[]): SseFrame;
}

/**
 * The active runs a user may see (`userId` null: everyone's, for an admin), as one frame per
 * change; the stream never ends by itself (the page stays open between runs).
 */
export function activeRunsFeed(
  services: AppServices,
  userId: string | null,
  rows: () => BackupLogRow[],
  view: ActiveRunsView,
): LiveFeed {
  const { db, events } = services;
  const runs = new Map<string, ActiveRun>();
  let finished: BackupLogRow[] = [];
  const frame = () => view.frame([...runs.values()], finished);
  return {
    accepts: (e) => e.type.startsWith("run.") && e.logId !== null && (userId === null || e.userId === userId),
    initial() {
      for (const row of rows()) runs.set(row.id, { row, state: liveStateOf(events, row) });
      return { frames: [frame()], end: false };
    },
    apply(e: BusEvent) {
      const id = e.logId as string;
      if (e.type === "run.finished") {
        runs.delete(id);
        const row = findLog(db, id);
        if (row) finished.push(row);
        return "update";
      }
      const known = runs.get(id);
      const next = foldRunEvent(known?.state, e);
      if (!next) return "ignore";
      const row = known && e.type !== "run.started" ? known.row : findLog(db, id);
      if (row) runs.set(id, { row, state: next });
      return "update";
    },
    latest() {
      const f = frame();
      finished = [];
      return f;
    },
  };
}
