import { restore } from "../engine/restore.ts";
import { formatBytes, formatDuration } from "../util/bytes.ts";
import { parseFlags, UsageError } from "./args.ts";
import type { Command } from "./io.ts";
import { withCancellation } from "./repo/cancel.ts";
import { count } from "./repo/format.ts";
import {
  REPO_FLAGS,
  REPO_FLAGS_USAGE,
  resolveTarget,
  snapshotArg,
  takePositionals,
  warnDamaged,
  withRepository,
} from "./repo/options.ts";
import { createProgressRenderer } from "./repo/progress.ts";

const usage = `Usage: backapp restore --repo REPO SNAPSHOT --target DIR [--include PATH]... [--verify]

Restores a snapshot (full id, unique prefix of 8+ hex characters, or "latest") into DIR: snapshot
path /a/b lands at DIR/a/b, with modes, mtimes, symlinks and empty folders. Every blob is
authenticated as it is read. Rerunning skips files that are already correct, so an interrupted
restore resumes. Exits 1 when anything could not be restored, naming it.

Flags:
  --target DIR      where to restore (created if missing)
  --include PATH    restore only this snapshot path and what is below it (repeatable)
  --verify          re-read every restored file and check it against the snapshot

${REPO_FLAGS_USAGE}`;

export const restoreCommand: Command = {
  name: "restore",
  summary: "restore a snapshot into a folder",
  usage,
  async run(argv, io) {
    const { flags, positionals } = parseFlags(argv, {
      ...REPO_FLAGS,
      target: { type: "string" },
      include: { type: "string", multiple: true },
      verify: { type: "boolean" },
    });
    const [ref] = takePositionals(positionals, ["SNAPSHOT"]);
    if (flags.target === undefined || flags.target === "") throw new UsageError("missing --target DIR");
    const snapshotRef = snapshotArg(ref!);
    const target = resolveTarget(flags, io);
    const progress = createProgressRenderer(io, { json: false });
    const summary = await withCancellation((signal) =>
      withRepository(target, { lock: "shared", signal }, async (repo) => {
        const snapshot = await repo.findSnapshot(snapshotRef, signal, undefined, warnDamaged(io));
        return restore(repo, snapshot, {
          target: flags.target!,
          includes: flags.include,
          verify: flags.verify === true,
          signal,
          onProgress: (e) => progress.onEvent(e),
        });
      }),
    ).finally(() => progress.finish());
    const s = summary;
    const verified = flags.verify ? `, ${s.files_verified} verified` : "";
    const linked = s.files_linked > 0 ? `, ${s.files_linked} of them as hard links` : "";
    for (const n of s.notices) io.stderr(`note: ${n.path}: ${n.message}\n`);
    io.stdout(
      `restored ${count(s.files_restored, "file")} (${formatBytes(s.bytes_written)}${linked}), ${count(s.dirs, "folder")}, ${count(s.symlinks, "symlink")}; ` +
        `${s.files_skipped} already correct (${formatBytes(s.bytes_skipped)})${verified} in ${formatDuration(s.duration_ms)}\n`,
    );
    if (s.errors.length === 0) return 0;
    io.stderr(
      `backapp restore: ${s.errors.length} item${s.errors.length === 1 ? "" : "s"} could not be restored\n`,
    );
    return 1;
  },
};
