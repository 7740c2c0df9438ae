import { readdirSync } from "node:fs";
import type { RepositoryImpl } from "../engine/repository/index.ts";
import { deleteExtraneous } from "../engine/restore/delete-extra.ts";
import { previewRestore } from "../engine/restore/preview.ts";
import type { OverwriteMode, RestoreSummary } from "../engine/restore/types.ts";
import { restoreXattrs } from "../engine/restore/xattrs.ts";
import { restore } from "../engine/restore.ts";
import type { Snapshot } from "../engine/types.ts";
import { formatBytes, formatDuration } from "../util/bytes.ts";
import { parseFlags, UsageError } from "./args.ts";
import type { CliIo, Command } from "./io.ts";
import { withCancellation } from "./repo/cancel.ts";
import { count } from "./repo/format.ts";
import {
  REPO_FLAGS,
  REPO_FLAGS_USAGE,
  resolveTarget,
  snapshotArg,
  takePositionals,
  withRepository,
} from "./repo/options.ts";
import { createProgressRenderer } from "./repo/progress.ts";
import { LATEST_FLAGS, LATEST_FLAGS_USAGE, parseSelection, resolveSnapshot } from "./repo/select.ts";
import { type VerbosePrinter, verbosePrinter } from "./repo/verbose.ts";

const usage = `Usage: backapp restore --repo REPO SNAPSHOT --target DIR [flags]

Restores a snapshot (full id, unique prefix of 8+ hex characters, or "latest") into DIR: snapshot
path /a/b lands at DIR/a/b, with modes, mtimes, symlinks and empty folders. Every blob is
authenticated as it is read. Files of DIR that the snapshot does not hold are left alone (unless
--delete); files it holds are handled per --overwrite, so an interrupted restore resumes.
Exits 1 when anything could not be restored, naming it.

Flags:
  --target DIR           where to restore (created if missing)
  --include PATH         restore only this snapshot path and what is below it (repeatable)
  --exclude GLOB         leave out matching snapshot paths (repeatable; docs/patterns.md)
  --overwrite MODE       existing files: if-changed (default: rewritten unless size, mtime,
                         mode and content already match; content is compared locally),
                         always, if-newer (only files older than the snapshot's), never
  --delete               remove what DIR holds and the snapshot does not (only inside DIR,
                         only below the restored paths; symlinks are removed, never followed)
  --dry-run, -n          say what would be written and removed; change nothing
  --verify               re-read every restored file and check it against the snapshot
  --no-xattrs            do not restore extended attributes (restored by default; one the file
                         system refuses is a note, not an error)
  --json                 JSON lines: progress events, then a final {"type":"summary",...}
  --verbose, -v          list each file written ("restored PATH (SIZE)") and, with --delete,
                         each path removed ("deleted PATH"); files already correct are not
                         listed; with --json {"type":"verbose_status","action","item","size"};
                         with --dry-run each file not in DIR yet ("would restore PATH (SIZE)")
${LATEST_FLAGS_USAGE}

${REPO_FLAGS_USAGE}`;

const FLAGS = {
  ...REPO_FLAGS,
  ...LATEST_FLAGS,
  target: { type: "string" },
  include: { type: "string", multiple: true },
  exclude: { type: "string", multiple: true },
  overwrite: { type: "string" },
  delete: { type: "boolean" },
  "dry-run": { type: "boolean", short: "n" },
  verify: { type: "boolean" },
  "no-xattrs": { type: "boolean" },
  json: { type: "boolean" },
  verbose: { type: "boolean", short: "v" },
} as const;

const MODES: OverwriteMode[] = ["if-changed", "always", "if-newer", "never"];

function parseOverwrite(value: string | undefined): OverwriteMode {
  if (value === undefined) return "if-changed";
  if (!MODES.includes(value as OverwriteMode)) {
    throw new UsageError(`flag --overwrite takes ${MODES.join(", ")}, got "${value}"`);
  }
  return value as OverwriteMode;
}

/** Says up front what happens to what is already in a non-empty target (stderr, not in JSON). */
function noteExisting(io: CliIo, dir: string, mode: OverwriteMode, del: boolean): void {
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return; // missing: created
  }
  if (names.length === 0) return;
  const what: Record<OverwriteMode, string> = {
    "if-changed": "rewritten unless already identical (size, mtime, mode, content)",
    always: "rewritten",
    "if-newer": "rewritten only where older than in the snapshot",
    never: "kept as they are",
  };
  const others = del ? "removed (--delete)" : "left alone";
  io.stderr(
    `note: ${dir} is not empty: files the snapshot holds are ${what[mode]}; other files are ${others}\n`,
  );
}

export function restoreSummaryJson(s: RestoreSummary, deleted: number) {
  return {
    type: "summary",
    files_restored: s.files_restored,
    files_skipped: s.files_skipped,
    files_linked: s.files_linked,
    files_verified: s.files_verified,
    dirs: s.dirs,
    symlinks: s.symlinks,
    bytes_written: s.bytes_written,
    bytes_skipped: s.bytes_skipped,
    deleted,
    duration_ms: s.duration_ms,
    errors: s.errors,
    notices: s.notices,
  };
}

async function dryRun(io: CliIo, repo: RepositoryImpl, snapshot: Snapshot, o: Options, signal: AbortSignal) {
  const onNewFile = o.say && ((path: string, size: number) => o.say?.("would restore", path, size));
  const p = await previewRestore(repo, snapshot, { ...o, signal, onNewFile });
  const deleted = o.delete
    ? await deleteExtraneous(repo, snapshot, {
        ...o,
        dryRun: true,
        signal,
        onDelete: (path) => {
          if (!o.json) io.stdout(`would remove ${path}\n`);
        },
      })
    : 0;
  if (o.json) io.stdout(`${JSON.stringify({ type: "dry_run", ...p, would_delete: deleted })}\n`);
  else
    io.stdout(
      `dry run: would write ${count(p.files_new, "new file")} (${formatBytes(p.bytes_new)}); ${count(p.files_existing, "file")} already there (${formatBytes(p.bytes_existing)}) handled per --overwrite ${o.overwrite}; ${count(p.dirs, "folder")}, ${count(p.symlinks, "symlink")}${o.delete ? `; would remove ${deleted}` : ""}; nothing was changed\n`,
    );
}

interface Options {
  target: string;
  includes?: string[];
  excludes?: string[];
  overwrite: OverwriteMode;
  delete: boolean;
  json: boolean;
  /** -v: prints one file's action. */
  say?: VerbosePrinter;
}

export const restoreCommand: Command = {
  name: "restore",
  summary: "restore a snapshot into a folder",
  usage,
  async run(argv, io) {
    const { flags, positionals } = parseFlags(argv, FLAGS);
    const [ref] = takePositionals(positionals, ["SNAPSHOT"]);
    if (flags.target === undefined || flags.target === "") throw new UsageError("missing --target DIR");
    const snapshotRef = snapshotArg(ref!);
    const json = flags.json === true;
    const progress = createProgressRenderer(io, { json, intervalMs: json ? 500 : 200 });
    const say = flags.verbose ? verbosePrinter(progress, json, "size") : undefined;
    const o: Options = {
      target: flags.target,
      includes: flags.include,
      excludes: flags.exclude,
      overwrite: parseOverwrite(flags.overwrite),
      delete: flags.delete === true,
      json,
      say,
    };
    const target = resolveTarget(flags, io);
    const selection = parseSelection(flags);
    if (!flags["dry-run"]) noteExisting(io, o.target, o.overwrite, o.delete);
    let deleted = 0;
    const summary = await withCancellation((signal) =>
      withRepository(target, { lock: "shared", signal }, async (repo) => {
        const snapshot = await resolveSnapshot(repo, snapshotRef, selection, signal, io);
        if (flags["dry-run"]) return dryRun(io, repo, snapshot, o, signal);
        if (o.delete) {
          const onError = (e: { path: string; message: string }) => progress.onEvent({ type: "error", ...e });
          const onDelete = say && ((path: string) => say("deleted", path));
          deleted = await deleteExtraneous(repo, snapshot, { ...o, signal, onError, onDelete });
        }
        const summary = await restore(repo, snapshot, {
          ...o,
          verify: flags.verify === true,
          signal,
          onProgress: (e) => progress.onEvent(e),
          onFile: say && ((path, action, size) => action === "restored" && say(action, path, size)),
        });
        if (!flags["no-xattrs"]) {
          await restoreXattrs(repo, snapshot, { ...o, signal, onNotice: (n) => summary.notices.push(n) });
        }
        return summary;
      }),
    ).finally(() => progress.finish());
    if (!summary) return 0;
    return report(io, summary, deleted, o, flags.verify === true);
  },
};

function report(io: CliIo, s: RestoreSummary, deleted: number, o: Options, verify: boolean): number {
  if (o.json) {
    io.stdout(`${JSON.stringify(restoreSummaryJson(s, deleted))}\n`);
    return s.errors.length === 0 ? 0 : 1;
  }
  const verified = verify ? `, ${s.files_verified} verified` : "";
  const linked = s.files_linked > 0 ? `, ${s.files_linked} of them as hard links` : "";
  const kept =
    o.overwrite === "if-changed" ? "already correct" : `left as they were (--overwrite ${o.overwrite})`;
  for (const n of s.notices) io.stderr(`note: ${n.path}: ${n.message}\n`);
  io.stdout(
    `restored ${count(s.files_restored, "file")} (${formatBytes(s.bytes_written)}${linked}), ${count(s.dirs, "folder")}, ${count(s.symlinks, "symlink")}; ` +
      `${s.files_skipped} ${kept} (${formatBytes(s.bytes_skipped)})${verified}${o.delete ? `; removed ${deleted}` : ""} in ${formatDuration(s.duration_ms)}\n`,
  );
  if (s.errors.length === 0) return 0;
  io.stderr(`backapp restore: ${count(s.errors.length, "item")} could not be restored\n`);
  return 1;
}
