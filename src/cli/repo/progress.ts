/**
 * Renders the engine's ProgressEvent stream for a terminal, apart from the engine (which only
 * emits events): one updating status line on a TTY, JSON lines with --json, and on a plain pipe
 * only the per-file errors (on stderr) so logs stay readable.
 */
import type { ProgressEvent } from "../../engine/types.ts";
import { formatBytes, formatDuration } from "../../util/bytes.ts";
import type { CliIo } from "../io.ts";

export interface ProgressRenderer {
  /** Feed one engine event. */
  onEvent(event: ProgressEvent): void;
  /** Clears the status line (TTY) so the final output starts on a clean line. */
  finish(): void;
}

export interface RendererOptions {
  json: boolean;
  /** Minimum milliseconds between two progress lines (JSON) or redraws (TTY). */
  intervalMs?: number;
  now?: () => number;
}

/** Picks the renderer for the output: JSON lines, a TTY status line, or errors only. */
export function createProgressRenderer(io: CliIo, options: RendererOptions): ProgressRenderer {
  if (options.json) return jsonRenderer(io, options);
  if (io.isTTY) return ttyRenderer(io, options);
  return {
    onEvent(event) {
      if (event.type === "error") io.stderr(`error: ${event.path}: ${event.message}\n`);
    },
    finish() {},
  };
}

/** Emits a function that returns true at most once per interval (the first call passes). */
function throttle(intervalMs: number, now: () => number): () => boolean {
  let last = Number.NEGATIVE_INFINITY;
  return () => {
    const t = now();
    if (t - last < intervalMs) return false;
    last = t;
    return true;
  };
}

function jsonRenderer(io: CliIo, options: RendererOptions): ProgressRenderer {
  const due = throttle(options.intervalMs ?? 1000, options.now ?? Date.now);
  return {
    onEvent(event) {
      if (event.type === "progress" && !due()) return;
      io.stdout(`${JSON.stringify(event)}\n`);
    },
    finish() {},
  };
}

function ttyRenderer(io: CliIo, options: RendererOptions): ProgressRenderer {
  const due = throttle(options.intervalMs ?? 200, options.now ?? Date.now);
  const width = Math.max(40, Number(io.env.COLUMNS) || 100) - 1;
  let drawn = false;
  const clear = () => {
    if (drawn) io.stdout("\r\x1b[K");
    drawn = false;
  };
  return {
    onEvent(event) {
      if (event.type === "error") {
        clear();
        io.stderr(`error: ${event.path}: ${event.message}\n`);
        return;
      }
      if (event.type === "scan" && !event.done && due()) {
        clear();
        io.stdout(fitWidth(`scanning… ${event.files_total} files, ${formatBytes(event.bytes_total)}`, width));
        drawn = true;
      }
      if (event.type === "progress" && due()) {
        clear();
        io.stdout(fitWidth(statusLine(event), width));
        drawn = true;
      }
    },
    finish: clear,
  };
}

/** "[0:42] 1204/5000 files 1.2 GiB/3.4 GiB 45.1 MiB/s ETA 1m05s 2 errors /current/path". */
export function statusLine(e: Extract<ProgressEvent, { type: "progress" }>): string {
  const pct = e.bytes_total > 0 ? `${Math.floor((e.bytes_done * 100) / e.bytes_total)}% ` : "";
  const parts = [
    `[${formatDuration(e.elapsed_ms)}]`,
    `${pct}${e.files_done}/${e.files_total} files`,
    `${formatBytes(e.bytes_done)}/${formatBytes(e.bytes_total)}`,
    `${formatBytes(Math.round(e.rate))}/s`,
    e.eta === null ? "" : `ETA ${formatDuration(e.eta * 1000)}`,
    e.errors > 0 ? `${e.errors} error${e.errors === 1 ? "" : "s"}` : "",
    e.current[0] ?? "",
  ];
  return parts.filter((p) => p !== "").join("  ");
}

/** Cuts a line to the terminal width, keeping the end of a long path (the informative part). */
export function fitWidth(line: string, width: number): string {
  const chars = [...line];
  if (chars.length <= width) return line;
  return `${chars.slice(0, Math.max(0, width - 40)).join("")}…${chars.slice(-39).join("")}`;
}
