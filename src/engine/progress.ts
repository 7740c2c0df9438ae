/**
 * A reusable progress aggregator for long operations (backup, restore): the engine reports facts
 * (file started/finished, bytes done, errors, scan totals) and this turns them into throttled
 * ProgressEvents with a rate over a recent window and an ETA. Rendering is someone else's job.
 */
import type { ProgressListener } from "./types.ts";

export interface ProgressOptions {
  operation: "backup" | "restore" | "check" | "prune";
  listener?: ProgressListener;
  /** Minimum ms between two "progress" events (default 250). */
  intervalMs?: number;
  /** Window for the rate, in ms (default 10 s). */
  windowMs?: number;
  now?: () => number;
  /**
   * Bytes counted as done that are not stored yet (a backup's data still queued for sealing and
   * upload). Progress events leave them out until finish(), so 100% means stored, not just read.
   */
  unsettled?: () => number;
}

export interface Progress {
  /** Scan pass totals (growing until done). */
  scan(files: number, bytes: number, done: boolean): void;
  fileStarted(path: string): void;
  fileDone(path: string): void;
  /** Adds processed bytes (read or written). */
  addBytes(n: number): void;
  error(path: string, message: string): void;
  /** Emits a progress event now if the interval has passed. */
  tick(): void;
  /** Emits a final progress event and stops the timer. */
  finish(): void;
  readonly filesDone: number;
  readonly bytesDone: number;
}

/** Rate in bytes/s over samples of (time, bytesDone) in the last window. */
export function windowRate(samples: Array<[number, number]>, now: number, windowMs: number): number {
  while (samples.length > 2 && now - samples[0]![0] > windowMs) samples.shift();
  const first = samples[0];
  const last = samples.at(-1);
  if (!first || !last || last[0] <= first[0]) return 0;
  return ((last[1] - first[1]) * 1000) / (last[0] - first[0]);
}

/** Seconds left, or null when unknown (totals still growing, or no rate yet). */
export function eta(
  bytesDone: number,
  bytesTotal: number,
  rate: number,
  totalsKnown: boolean,
): number | null {
  if (!totalsKnown || rate <= 0) return null;
  return Math.max(0, Math.ceil((bytesTotal - bytesDone) / rate));
}

export function createProgress(options: ProgressOptions): Progress {
  const now = options.now ?? Date.now;
  const interval = options.intervalMs ?? 250;
  const windowMs = options.windowMs ?? 10_000;
  const emit = options.listener ?? (() => {});
  const started = now();
  const samples: Array<[number, number]> = [[started, 0]];
  const current = new Set<string>();
  let filesDone = 0;
  let bytesDone = 0;
  let errors = 0;
  let totals = { files: 0, bytes: 0, done: false };
  let last = Number.NEGATIVE_INFINITY;
  let finished = false;
  let shown = 0;
  emit({ type: "start", operation: options.operation, time: new Date(started).toISOString() });

  const send = () => {
    const t = now();
    last = t;
    // Never backwards; exact once finished.
    const held = finished ? 0 : (options.unsettled?.() ?? 0);
    shown = finished ? bytesDone : Math.max(shown, bytesDone - held);
    samples.push([t, shown]);
    const rate = windowRate(samples, t, windowMs);
    emit({
      type: "progress",
      files_done: filesDone,
      files_total: Math.max(totals.files, filesDone),
      bytes_done: shown,
      bytes_total: Math.max(totals.bytes, bytesDone),
      current: [...current].slice(0, 4),
      rate,
      eta: eta(shown, totals.bytes, rate, totals.done),
      errors,
      elapsed_ms: t - started,
    });
  };
  const timer = setInterval(() => send(), interval);
  (timer as { unref?: () => void }).unref?.();

  return {
    scan(files, bytes, done) {
      totals = { files, bytes, done };
      emit({ type: "scan", files_total: files, bytes_total: bytes, done });
    },
    fileStarted: (path) => void current.add(path),
    fileDone(path) {
      current.delete(path);
      filesDone++;
    },
    addBytes(n) {
      bytesDone += n;
    },
    error(path, message) {
      errors++;
      emit({ type: "error", path, message });
    },
    tick() {
      if (!finished && now() - last >= interval) send();
    },
    finish() {
      if (finished) return;
      finished = true;
      clearInterval(timer);
      send();
    },
    get filesDone() {
      return filesDone;
    },
    get bytesDone() {
      return bytesDone;
    },
  };
}
