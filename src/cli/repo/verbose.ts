/**
 * `-v` listings, as restic's verbose output: one line per file handled (text), or one
 * {"type":"verbose_status","action","item",...} line per file with --json (restic's message
 * names, our "type" key). Printed through the progress renderer so a TTY status line stays whole.
 */
import { formatBytes } from "../../util/bytes.ts";
import type { ProgressRenderer } from "./progress.ts";

/** Prints one file's action; `size` goes in the JSON under `sizeKey` (restic: data_size / size). */
export type VerbosePrinter = (action: string, item: string, size?: number) => void;

export function verbosePrinter(
  progress: ProgressRenderer,
  json: boolean,
  sizeKey: "data_size" | "size",
): VerbosePrinter {
  return (action, item, size) => {
    if (json) {
      const extra = size === undefined ? {} : { [sizeKey]: size };
      const name = action.replaceAll(" ", "_"); // "would restore" → "would_restore"
      progress.line(JSON.stringify({ type: "verbose_status", action: name, item, ...extra }));
    } else {
      progress.line(`${action.padEnd(8)} ${item}${size === undefined ? "" : ` (${formatBytes(size)})`}`);
    }
  };
}
