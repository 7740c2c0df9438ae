import {
  DEFAULT_MAX_UNUSED_PCT,
  type PruneReport,
  type PruneStep,
  pruneRepository,
} from "../engine/prune.ts";
import { formatBytes } from "../util/bytes.ts";
import { parseFlags, UsageError } from "./args.ts";
import type { CliIo, Command } from "./io.ts";
import { withCancellation } from "./repo/cancel.ts";
import {
  REPO_FLAGS,
  REPO_FLAGS_USAGE,
  resolveTarget,
  takePositionals,
  withRepository,
} from "./repo/options.ts";

const usage = `Usage: backapp prune --repo REPO [--max-unused PCT] [--dry-run] [--json] [--verbose]

Deletes data no snapshot references (run forget first). Takes the exclusive lock: it refuses to
start while a backup, restore or check holds a lock. Writes new packs and a new index and confirms
them before deleting anything, so an interrupted prune leaves a valid repository; run it again to
finish. Packs in no index (left by interrupted backups) are deleted too.

Flags:
  --max-unused PCT   unused space tolerated in kept packs, as a percentage of what stays stored
                     (unused / (used + unused); default ${DEFAULT_MAX_UNUSED_PCT}, "2.5" or "2.5%" too); 0 repacks
                     every partly used pack, 100 or "unlimited" never repacks (wholly unused packs
                     are always deleted)
  --dry-run          report what would be done; change nothing
  --json             print the report as JSON
  --verbose          name each step on stderr as it starts

${REPO_FLAGS_USAGE}`;

/** "5", "2.5", "5%" → 0–100; "unlimited" → 100 (never repack). */
export function parseMaxUnused(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (value.trim() === "unlimited") return 100;
  const m = /^(\d+(?:\.\d+)?)%?$/.exec(value.trim());
  const pct = m ? Number(m[1]) : Number.NaN;
  if (!(pct >= 0 && pct <= 100)) {
    throw new UsageError(`flag --max-unused needs a percentage from 0 to 100 or "unlimited", got "${value}"`);
  }
  return pct;
}

/** JSON shape of a prune report (snake_case, like the rest of the CLI's JSON). */
export function pruneJson(r: PruneReport) {
  return {
    dry_run: r.dryRun,
    snapshots: r.snapshots,
    used_blobs: r.usedBlobs,
    packs: r.packs,
    bytes: {
      before: r.bytes.before,
      used: r.bytes.used,
      freed: r.bytes.freed,
      unused_left: r.bytes.unusedLeft,
    },
    index_files: r.indexFiles,
    missing_packs: r.missingPacks,
  };
}

export function printPruneReport(io: CliIo, r: PruneReport): void {
  const p = r.packs;
  const verb = r.dryRun ? "would " : "";
  io.stdout(
    `${[
      `${r.snapshots === 1 ? "1 snapshot references" : `${r.snapshots} snapshots reference`} ${r.usedBlobs} blobs (${formatBytes(r.bytes.used)} stored)`,
      `packs: ${p.before} indexed; keep ${p.kept}, ${verb}repack ${p.repacked}, ${verb}delete ${p.removed} unused and ${p.unindexed} unindexed${r.dryRun ? "" : `; wrote ${p.written} new`}`,
      r.missingPacks.length > 0 ? `dropped ${r.missingPacks.length} missing unused packs from the index` : "",
      `repository: ${formatBytes(r.bytes.before)} before, ${verb}free ${formatBytes(r.bytes.freed)}; unused data left in kept packs: ${formatBytes(r.bytes.unusedLeft)}`,
      r.dryRun
        ? "dry run: nothing was changed"
        : r.indexFiles.written === 0
          ? "nothing to do: the repository holds no unused data"
          : `index files: ${r.indexFiles.before} replaced by ${r.indexFiles.written}`,
    ]
      .filter((l) => l !== "")
      .join("\n")}\n`,
  );
}

const STEP_TEXT: Record<PruneStep, string> = {
  load: "reading index files and snapshots",
  mark: "marking blobs used by snapshots",
  plan: "planning",
  repack: "repacking partly used packs",
  "write-index": "writing the new index",
  "delete-index": "deleting superseded index files",
  "delete-packs": "deleting unused packs",
  done: "done",
};

/** Step reporter for --verbose: one stderr line per step. */
export function stepPrinter(
  io: CliIo,
  verbose: boolean | undefined,
): ((step: PruneStep) => void) | undefined {
  return verbose ? (step) => io.stderr(`prune: ${STEP_TEXT[step]}\n`) : undefined;
}

export const pruneCommand: Command = {
  name: "prune",
  summary: "delete data no snapshot references (after forget)",
  usage,
  async run(argv, io) {
    const { flags, positionals } = parseFlags(argv, {
      ...REPO_FLAGS,
      "max-unused": { type: "string" },
      "dry-run": { type: "boolean" },
      json: { type: "boolean" },
      verbose: { type: "boolean", short: "v" },
    });
    takePositionals(positionals, []);
    const maxUnusedPct = parseMaxUnused(flags["max-unused"]);
    const target = resolveTarget(flags, io);
    const dryRun = flags["dry-run"] === true;
    const report = await withCancellation((signal) =>
      withRepository(target, { lock: dryRun ? "shared" : "exclusive", signal }, (repo) =>
        pruneRepository(repo, { maxUnusedPct, dryRun, signal, onStep: stepPrinter(io, flags.verbose) }),
      ),
    );
    if (flags.json) io.stdout(`${JSON.stringify(pruneJson(report))}\n`);
    else printPruneReport(io, report);
    return 0;
  },
};
