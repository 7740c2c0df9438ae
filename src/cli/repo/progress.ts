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
  /** Prints one whole line on stdout (a `-v` listing) without tearing the status line. */
  line(text: string): void;
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
    line: (text) => io.stdout(`${text}\n`),
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
  // The last progress event held back by the throttle: printed at the end, so the final counts
  // (the engine's last event) are always in the output.
  let held: ProgressEvent | null = null;
  return {
    onEvent(event) {
      if (event.type === "progress" && !due()) {
        held = event;
        return;
      }
      if (event.type === "progress") held = null;
      io.stdout(`${JSON.stringify(event)}\n`);
    },
    finish() {
      if (held) io.stdout(`${JSON.stringify(held)}\n`);
      held = null;
    },
    line: (text) => io.stdout(`${text}\n`),
  };
}

function ttyRenderer(io: CliIo, options: RendererOptions): ProgressRenderer {
  const due = throttle(options.intervalMs ?? 200, options.now ?? Date.now);
  const width = Math.max(40, Number(io.env.COLUMNS) || 100) - 1;
  let drawn = false;
  let totalsKnown = false;
  const clear = () => {
    if (drawn) io.stdout("\r\x1b[K");
    drawn = false;
  };
  const draw = (line: string) => {
    clear();
    io.stdout(line);
    drawn = true;
  };
  return {
    onEvent(event) {
      if (event.type === "error") {
        clear();
        io.stderr(`error: ${event.path}: ${event.message}\n`);
      } else if (event.type === "scan") {
        totalsKnown = event.done;
      } else if (event.type === "progress" && due()) {
        draw(statusLine(event, width, totalsKnown));
      }
    },
    finish: clear,
    line(text) {
      clear();
      io.stdout(`${text}\n`);
    },
  };
}

type ProgressLine = Extract<ProgressEvent, { type: "progress" }>;

/**
 * "[42s]  25% 3/10 files  1.00 MiB/4.00 MiB  2.00 MiB/s  ETA 1m05s  1 error  /current/path", cut
 * to `width` by shortening the path from the left (its end is the informative part). While the scan
 * is still counting (totalsKnown false) the totals and percentage are left out.
 */
export function statusLine(e: ProgressLine, width = 1000, totalsKnown = true): string {
  const pct = totalsKnown && e.bytes_total > 0 ? `${Math.floor((e.bytes_done * 100) / e.bytes_total)}% ` : "";
  const parts = [
    `[${formatDuration(e.elapsed_ms)}]`,
    totalsKnown ? `${pct}${e.files_done}/${e.files_total} files` : `${e.files_done} files`,
    totalsKnown ? `${formatBytes(e.bytes_done)}/${formatBytes(e.bytes_total)}` : formatBytes(e.bytes_done),
    `${formatBytes(Math.round(e.rate))}/s`,
    e.eta === null || !totalsKnown ? "" : `ETA ${formatDuration(e.eta * 1000)}`,
    e.errors > 0 ? `${e.errors} error${e.errors === 1 ? "" : "s"}` : "",
  ];
  const stats = parts.filter((p) => p !== "").join("  ");
  const path = e.current[0];
  const room = width - [...stats].length - 2;
  if (path !== undefined && room >= 12) return `${stats}  ${fitWidth(path, room)}`;
  const chars = [...stats];
  return chars.length <= width ? stats : `${chars.slice(0, width - 1).join("")}…`;
}

/** Cuts text to `width` characters, keeping its end behind a leading "…". */
export function fitWidth(text: string, width: number): string {
  const chars = [...text];
  if (chars.length <= width) return text;
  return `…${chars.slice(chars.length - width + 1).join("")}`;
}
