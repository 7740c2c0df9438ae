/** `backup --stdin`: standard input stored as /NAME in a snapshot of its own. */
import { backupStream } from "../engine/backup/stdin.ts";
import { formatBytes, formatDuration } from "../util/bytes.ts";
import { ValidationError } from "../util/errors.ts";
import type { CliIo } from "./io.ts";
import { withCancellation } from "./repo/cancel.ts";
import { type RepoFlags, resolveTarget, withRepository } from "./repo/options.ts";
import { createProgressRenderer } from "./repo/progress.ts";

export interface StdinBackup {
  name: string;
  tags?: string[];
  hostname: string;
  json: boolean;
  compression?: Parameters<typeof withRepository>[1]["compression"];
  limitUploadKbps?: number;
}

export async function backupStdin(io: CliIo, flags: RepoFlags, o: StdinBackup): Promise<number> {
  const stdin = io.stdin;
  if (!stdin) throw new ValidationError("no standard input to read");
  const target = resolveTarget(flags, io);
  const progress = createProgressRenderer(io, { json: o.json, intervalMs: o.json ? 500 : 200 });
  const { compression, limitUploadKbps } = o;
  const result = await withCancellation((signal) =>
    withRepository(target, { lock: "shared", compression, limitUploadKbps, signal }, (repo) =>
      backupStream(repo, stdin, o.name, {
        tags: o.tags,
        hostname: o.hostname,
        signal,
        onProgress: (e) => progress.onEvent(e),
      }),
    ),
  ).finally(() => progress.finish());
  const s = result.summary;
  if (o.json) {
    const summary = { type: "summary", snapshot_id: result.snapshot.id, ...s, errors: s.errors };
    io.stdout(`${JSON.stringify(summary)}\n`);
    return 0;
  }
  io.stdout(
    `saved standard input as /${o.name}: ${formatBytes(s.bytes_processed)} in ${formatDuration(s.duration_ms)}; added ${formatBytes(s.bytes_added)} (${formatBytes(s.bytes_stored)} stored)\n`,
  );
  io.stdout(`snapshot ${result.snapshot.id.slice(0, 8)} saved\n${result.snapshot.id}\n`);
  return 0;
}
