/** The end of a backup: per-kind tallies of what went wrong, and the exit code (0 or 3). */
import type { BackupResult } from "../../engine/backup.ts";
import type { FileError } from "../../engine/types.ts";
import type { CliIo } from "../io.ts";
import { count } from "./format.ts";

/** Given paths that do not exist are named as such, apart from files that could not be read. */
export function printErrorTally(io: CliIo, errors: FileError[], roots: string[]): void {
  // Each error was printed as it happened (by the progress renderer); this is the tally.
  const missing = errors.filter((e) => roots.includes(e.path) && e.message === "does not exist");
  const unread = errors.length - missing.length;
  if (missing.length > 0) {
    const names = missing.map((e) => e.path).join(", ");
    io.stderr(`warning: ${count(missing.length, "given path does", "given paths do")} not exist: ${names}\n`);
  }
  if (unread > 0) io.stderr(`warning: ${count(unread, "file")} could not be read\n`);
}

/**
 * 3 when some files could not be read, and when --include patterns matched no file at all (the
 * snapshot then holds only the given folders: almost surely not what was meant).
 */
export function backupExitCode(io: CliIo, result: BackupResult, includes: string[] | undefined): number {
  const s = result.summary;
  const saved = s.files_new + s.files_changed + s.files_unmodified;
  if (includes && includes.length > 0 && saved === 0) {
    io.stderr(
      `warning: no file matched --include ${includes.join(", ")}: the snapshot holds no file (patterns are matched as docs/patterns.md says)\n`,
    );
    return 3;
  }
  return s.errors.length > 0 ? 3 : 0;
}
