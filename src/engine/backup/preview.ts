/**
 * `backup --dry-run`: the same walk as a backup (patterns, includes, scan options), reading no
 * file content and writing nothing. Sizes are before deduplication and compression.
 */
import { NotFoundError } from "../../util/errors.ts";
import { createPathFilter } from "../scan/patterns.ts";
import { normalizePaths } from "../scan/roots.ts";
import { type ScanOptions, walk } from "../scan/walk.ts";

export interface PreviewOptions extends ScanOptions {
  excludes?: string[];
  includes?: string[];
  cwd?: string;
  signal?: AbortSignal;
  /** Each file or symlink that would be saved, with its size. */
  onEntry?: (path: string, size: number) => void;
  /** Entries that could not be read (or given paths that do not exist). */
  onError?: (path: string, message: string) => void;
}

export interface PreviewResult {
  files: number;
  dirs: number;
  bytes: number;
  errors: number;
}

export async function previewBackup(paths: string[], options: PreviewOptions = {}): Promise<PreviewResult> {
  const filter = createPathFilter({ excludes: options.excludes, includes: options.includes });
  const roots = normalizePaths(paths, options.cwd);
  const out: PreviewResult = { files: 0, dirs: 0, bytes: 0, errors: 0 };
  for await (const e of walk(roots, filter, options.signal, options)) {
    if (e.kind === "file" || e.kind === "symlink") {
      const size = e.kind === "file" ? Number(e.stat.size) : 0;
      if (e.kind === "file") out.files++;
      out.bytes += size;
      options.onEntry?.(e.display, size);
    } else if (e.kind === "enter" && e.stat !== null && e.keep) {
      out.dirs++;
    } else if (e.kind === "error") {
      out.errors++;
      options.onError?.(e.display, e.message);
    }
  }
  if (out.errors > 0 && out.files === 0 && out.dirs === 0) {
    throw new NotFoundError(`nothing to back up: ${roots.join(", ")}`);
  }
  return out;
}
