import { hostname as osHostname } from "node:os";
import { type BackupResult, backup, startWalk } from "../engine/backup.ts";
import { normalizePaths } from "../engine/scan/roots.ts";
import { parseTagList } from "../engine/snapshot-filter.ts";
import type { CompressionMode, Snapshot } from "../engine/types.ts";
import { findParent } from "../jobs/operations.ts";
import { formatBytes, formatDuration } from "../util/bytes.ts";
import { intFlag, parseFlags, UsageError } from "./args.ts";
import { backupDryRun } from "./backup-dry-run.ts";
import { backupStdin } from "./backup-stdin.ts";
import type { CliIo, Command } from "./io.ts";
import { BACKUP_MORE_FLAGS, BACKUP_MORE_USAGE, parseBackupMore } from "./repo/backup-flags.ts";
import { backupExitCode, printErrorTally } from "./repo/backup-report.ts";
import { withCancellation } from "./repo/cancel.ts";
import { count } from "./repo/format.ts";
import { REPO_FLAGS, REPO_FLAGS_USAGE, resolveTarget, warnDamaged, withRepository } from "./repo/options.ts";
import { createProgressRenderer, type ProgressRenderer } from "./repo/progress.ts";
import { verbosePrinter } from "./repo/verbose.ts";

const usage = `Usage: backapp backup --repo REPO [flags] PATH...

Backs up files and folders. Files whose size, mtime, ctime and inode match the parent snapshot
(the latest one with the same host and the same set of paths) are not read again.

Flags:
  --exclude GLOB         leave out matching entries (repeatable; see docs/patterns.md)
  --include GLOB         save only matching entries and the folders leading to them (repeatable)
  --full                 re-read every file (the parent is still recorded; dedup still applies)
  --tag TAG[,TAG...]     tag the snapshot (repeatable; "a,b" adds the two tags a and b)
  --host NAME            hostname to record and to pick the parent by (default: this machine's)
  --compression MODE     off, auto (zstd 3, default), max (zstd 19) or a zstd level 1-22
  --limit-upload KBPS    cap upload bandwidth at KBPS KiB/s
  --json                 JSON lines: progress events, then a final {"type":"summary",...}
${BACKUP_MORE_USAGE}

Exit codes: 0 done, 1 failed (no snapshot), 3 snapshot written but some files could not be read.

${REPO_FLAGS_USAGE}`;

/** off | auto | max | 1..22. */
export function parseCompression(value: string | undefined): CompressionMode | undefined {
  if (value === undefined) return undefined;
  if (value === "off" || value === "auto" || value === "max") return value;
  const level = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (level >= 1 && level <= 22) return level;
  throw new UsageError(`flag --compression needs off, auto, max or a level from 1 to 22, got "${value}"`);
}

const FLAGS = {
  ...REPO_FLAGS,
  exclude: { type: "string", multiple: true },
  include: { type: "string", multiple: true },
  full: { type: "boolean" },
  tag: { type: "string", multiple: true },
  host: { type: "string" },
  compression: { type: "string" },
  "limit-upload": { type: "string" },
  json: { type: "boolean" },
  ...BACKUP_MORE_FLAGS,
} as const;

/** The summary line of `backup --json`: exactly the contract's fields, in its order. */
export function summaryJson(result: BackupResult) {
  const s = result.summary;
  return {
    type: "summary",
    snapshot_id: result.snapshot.id,
    files_new: s.files_new,
    files_changed: s.files_changed,
    files_unmodified: s.files_unmodified,
    dirs: s.dirs,
    bytes_processed: s.bytes_processed,
    bytes_added: s.bytes_added,
    bytes_stored: s.bytes_stored,
    duration_ms: s.duration_ms,
    errors: s.errors,
  };
}

function printHuman(io: CliIo, result: BackupResult, parent: Snapshot | null, roots: string[]): void {
  const s = result.summary;
  const lines = [
    parent ? `parent snapshot ${parent.id.slice(0, 8)}` : "no parent snapshot: every file is read",
    `files: ${s.files_new} new, ${s.files_changed} changed, ${s.files_unmodified} unmodified; ${count(s.dirs, "folder")}`,
    `processed ${formatBytes(s.bytes_processed)} in ${formatDuration(s.duration_ms)}; added ${formatBytes(s.bytes_added)} (${formatBytes(s.bytes_stored)} stored)`,
  ];
  for (const n of result.notices) lines.push(`note: ${n.path}: ${n.message}`);
  io.stdout(`${lines.join("\n")}\n`);
  printErrorTally(io, s.errors, roots);
  io.stdout(`snapshot ${result.snapshot.id.slice(0, 8)} saved\n${result.snapshot.id}\n`);
}

export const backupCommand: Command = {
  name: "backup",
  summary: "back up files and folders into a new snapshot",
  usage,
  async run(argv, io) {
    const { flags, positionals } = parseFlags(argv, FLAGS);
    const more = parseBackupMore(flags, positionals);
    const compression = parseCompression(flags.compression);
    const limitUploadKbps = intFlag("limit-upload", flags["limit-upload"], 1);
    if (flags.host === "") throw new UsageError("flag --host needs a non-empty name");
    if (flags.tag?.some((t) => parseTagList(t).length === 0))
      throw new UsageError("flag --tag needs a non-empty tag");
    for (const [name, globs] of [
      ["exclude", flags.exclude],
      ["include", flags.include],
    ] as const) {
      if (globs?.some((g) => g === "")) throw new UsageError(`flag --${name} needs a non-empty pattern`);
    }
    const json = flags.json === true;
    if (more.dryRun) return backupDryRun(io, more, flags.include, json);
    if (more.stdinName !== undefined) {
      const hostname = flags.host ?? osHostname();
      const o = { name: more.stdinName, tags: flags.tag, hostname, json, compression, limitUploadKbps };
      return backupStdin(io, flags, o);
    }
    const target = resolveTarget(flags, io);
    const hostname = flags.host ?? osHostname();
    const progress: ProgressRenderer = createProgressRenderer(io, { json, intervalMs: json ? 500 : 200 });
    const say = more.verbose ? verbosePrinter(progress, json, "data_size") : undefined;
    let parent: Snapshot | null = null;
    const result = await withCancellation(async (signal) => {
      const scan = { ...more.scan, excludes: more.excludes, includes: flags.include, signal };
      // The walk starts now and runs while the key is derived and the index loaded.
      const walk = startWalk(more.paths, scan);
      try {
        return await withRepository(
          target,
          { lock: "shared", compression, limitUploadKbps, signal },
          async (repo) => {
            parent = await findParent(repo, hostname, normalizePaths(more.paths), signal, warnDamaged(io));
            return backup(repo, more.paths, {
              ...scan,
              walk,
              readConcurrency: more.readConcurrency,
              noXattrs: more.noXattrs,
              full: flags.full === true,
              tags: flags.tag,
              hostname,
              parent,
              onProgress: (e) => progress.onEvent(e),
              // restic's names: "new", and "modified" for content that differs from the parent's.
              onFile: say
                ? (path, status, size) => {
                    if (status !== "unmodified") say(status === "new" ? "new" : "modified", path, size);
                  }
                : undefined,
              onNotice: (n) => {
                if (json) io.stdout(`${JSON.stringify({ type: "notice", ...n })}\n`);
              },
            });
          },
        );
      } finally {
        walk.stop();
      }
    }).finally(() => progress.finish());
    if (json) io.stdout(`${JSON.stringify(summaryJson(result))}\n`);
    else printHuman(io, result, parent, normalizePaths(more.paths));
    return backupExitCode(io, result, flags.include);
  },
};
