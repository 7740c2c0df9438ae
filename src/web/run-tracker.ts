/**
 * The latest live state of every active run, kept from the bus, so a stream that opens (or
 * reconnects) mid-run starts from the newest counters instead of waiting for the next event.
 * One tracker per bus, made on first use; it holds one bus subscription for the server's life
 * and forgets a run when it finishes (the backup_logs row is the truth from then on).
 */
import type { BackupLogRow } from "../db/backup-logs.ts";
import type { EventBus } from "../events/bus.ts";
import type { BusEvent, RunProgress } from "../events/types.ts";

export type RunPhase = "queued" | "starting" | "backing-up" | "finished";

export interface RunLiveState {
  /** Time of the newest event folded in (ms): the stream's event id. */
  at: number;
  phase: RunPhase;
  progress: RunProgress | null;
}

/** The SSE `progress` data, exactly the keys issue 9 names. */
export interface ProgressData {
  phase: RunPhase;
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
  /** Bytes stored in the repository so far; null until the run's first report. */
  bytesUploaded: number | null;
  rate: number;
  eta: number | null;
  currentPath: string | null;
  errors: number;
}

const trackers = new WeakMap<EventBus, Map<string, RunLiveState>>();

/** Folds one run event into `state` (a fresh object); null for events that end or do not concern runs. */
export function foldRunEvent(state: RunLiveState | undefined, e: BusEvent): RunLiveState | null {
  switch (e.type) {
    case "run.queued":
      return { at: e.at, phase: "queued", progress: null };
    case "run.started":
      return { at: e.at, phase: "starting", progress: state?.progress ?? null };
    case "run.progress":
      return { at: e.at, phase: "backing-up", progress: e.progress };
    default:
      return null;
  }
}

function track(bus: EventBus): Map<string, RunLiveState> {
  const states = new Map<string, RunLiveState>();
  const sub = bus.subscribe({ filter: (e) => e.type.startsWith("run.") && e.logId !== null, maxQueue: 1024 });
  void (async () => {
    for (let e = await sub.next(); e !== null; e = await sub.next()) {
      const id = e.logId as string;
      if (e.type === "run.finished") states.delete(id);
      else {
        const next = foldRunEvent(states.get(id), e);
        if (next) states.set(id, next);
      }
    }
  })();
  return states;
}

/** The tracked state of a run, or undefined (not active, or nothing seen since the server started). */
export function trackedRun(bus: EventBus, logId: string): RunLiveState | undefined {
  let states = trackers.get(bus);
  if (!states) {
    states = track(bus);
    trackers.set(bus, states);
  }
  return states.get(logId);
}

/** The live state of an active run: tracked, else what its row says. */
export function liveStateOf(bus: EventBus, row: BackupLogRow): RunLiveState {
  const tracked = trackedRun(bus, row.id);
  if (tracked) return tracked;
  const phase: RunPhase =
    row.status === "queued" ? "queued" : row.status === "running" ? "starting" : "finished";
  return { at: row.startTime, phase, progress: null };
}

/** The `progress` data of a state; counters of the row stand in until the first progress event. */
export function progressData(state: RunLiveState, row: BackupLogRow): ProgressData {
  const p = state.progress;
  return {
    phase: state.phase,
    filesDone: p?.filesDone ?? row.filesProcessed,
    filesTotal: p?.filesTotal ?? 0,
    bytesDone: p?.bytesDone ?? row.totalBytes,
    bytesTotal: p?.bytesTotal ?? 0,
    bytesUploaded: p?.bytesUploaded ?? null,
    rate: p?.rate ?? 0,
    eta: p?.eta ?? null,
    currentPath: p?.current[0] ?? null,
    errors: p?.errors ?? row.filesSkipped,
  };
}
