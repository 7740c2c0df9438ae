/** `backup --dry-run`: what a backup of these paths would save, read from the walk alone. */
import { previewBackup } from "../engine/backup/preview.ts";
import { formatBytes } from "../util/bytes.ts";
import type { CliIo } from "./io.ts";
import type { BackupMore } from "./repo/backup-flags.ts";
import { count } from "./repo/format.ts";

export async function backupDryRun(
  io: CliIo,
  more: BackupMore,
  includes: string[] | undefined,
  json: boolean,
): Promise<number> {
  const result = await previewBackup(more.paths, {
    excludes: more.excludes,
    includes,
    ...more.scan,
    onEntry: (path, size) => {
      if (json && more.verbose) io.stdout(`${JSON.stringify({ type: "would_save", path, size })}\n`);
      else if (more.verbose) io.stdout(`would save ${path} (${formatBytes(size)})\n`);
    },
    onError: (path, message) => {
      if (json) io.stdout(`${JSON.stringify({ type: "error", path, message })}\n`);
      else io.stderr(`error: ${path}: ${message}\n`);
    },
  });
  if (json) {
    const { files, dirs, bytes, errors } = result;
    io.stdout(`${JSON.stringify({ type: "dry_run", files, dirs, bytes, errors })}\n`);
  } else {
    io.stdout(
      `dry run: would save ${count(result.files, "file")} (${formatBytes(result.bytes)} before dedup) in ${count(result.dirs, "folder")}; nothing was written\n`,
    );
  }
  return result.errors > 0 ? 3 : 0;
}
