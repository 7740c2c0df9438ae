import { type CheckResult, type CheckStep, checkRepository } from "../engine/check.ts";
import { adoptUnindexedPacks, type RepositoryImpl } from "../engine/repository/index.ts";
import { parseFlags, UsageError } from "./args.ts";
import type { CliIo, Command } from "./io.ts";
import { withCancellation } from "./repo/cancel.ts";
import { count } from "./repo/format.ts";
import {
  REPO_FLAGS,
  REPO_FLAGS_USAGE,
  resolveTarget,
  takePositionals,
  withRepository,
} from "./repo/options.ts";
import { createProgressRenderer } from "./repo/progress.ts";

const usage = `Usage: backapp check --repo REPO [--read-data | --read-data-subset PCT] [--rebuild-index] [--json] [-v]

Verifies the repository's structure: index files load, indexed packs exist with the right size,
snapshots and every tree they reach load, every referenced blob is indexed. Exits 1 when it finds
damage, naming each damaged object.

Flags:
  --read-data              also download every pack and authenticate every blob
  --read-data-subset PCT   the same for a random PCT percent of the packs (e.g. 10 or 2.5%)
  --rebuild-index          first index, from their own headers, the packs no index file lists
                           (left by an interrupted backup, or after an index file was lost)
  --json                   JSON lines: progress events while reading data, then a final
                           {"type":"summary",...}
  --verbose, -v            name each phase on stderr as it starts (packs, data read, snapshots)

${REPO_FLAGS_USAGE}`;

/** "10", "2.5", "10%" → a percentage in (0, 100]. */
export function parsePercent(value: string): number {
  const m = /^(\d+(?:\.\d+)?)%?$/.exec(value.trim());
  const pct = m ? Number(m[1]) : Number.NaN;
  if (!(pct > 0 && pct <= 100)) {
    throw new UsageError(
      `flag --read-data-subset needs a percentage above 0 and at most 100, got "${value}"`,
    );
  }
  return pct;
}

/**
 * Indexes packs that no index file lists, from their own headers (only adds an index file, so a
 * shared lock is enough). Returns the packs whose header could not be read, as problems.
 */
async function rebuildIndex(repo: RepositoryImpl, io: CliIo, signal: AbortSignal, json: boolean) {
  const r = await adoptUnindexedPacks(repo, signal);
  const what =
    r.packs === 0
      ? "no pack was missing from the index"
      : `indexed ${count(r.packs, "pack")} (${count(r.blobs, "blob")})`;
  if (json) io.stdout(`${JSON.stringify({ type: "rebuild_index", packs: r.packs, blobs: r.blobs })}\n`);
  else io.stdout(`rebuild index: ${what}\n`);
  return r.errors;
}

/** `-v`: one stderr line per phase, as prune's --verbose. */
function stepPrinter(io: CliIo): (step: CheckStep, packs?: number) => void {
  return (step, packs = 0) => {
    const text: Record<CheckStep, string> = {
      packs: `checking that ${count(packs, "indexed pack")} are stored, with the right sizes`,
      "read-data": `reading ${count(packs, "pack")} and authenticating every blob`,
      snapshots: "checking snapshots and the trees and blobs they reference",
    };
    io.stderr(`check: ${text[step]}\n`);
  };
}

/** The text report: what was checked, what was read, then each problem. */
function printText(io: CliIo, result: CheckResult, subset: number | undefined): void {
  const read =
    result.packsRead === 0
      ? ""
      : result.packsRead === result.packsChecked && subset === undefined
        ? `; read all ${count(result.packsRead, "pack")} (${count(result.blobsRead, "blob")})`
        : `; read ${result.packsRead} of ${count(result.packsChecked, "pack")} (${count(result.blobsRead, "blob")}; ${subset}% asked)`;
  io.stdout(
    `checked ${count(result.snapshots, "snapshot")}, ${count(result.packsChecked, "pack")}, ${count(result.blobsChecked, "blob")}${read}\n`,
  );
  if (result.unindexedPacks > 0) {
    const n = result.unindexedPacks;
    io.stdout(
      `note: ${n} pack${n === 1 ? " is" : "s are"} in no index file (left by an interrupted backup: harmless, prune removes ${n === 1 ? "it" : "them"}; if blobs are reported missing from the index below, an index file was lost: check --rebuild-index indexes them again)\n`,
    );
  }
  if (result.errors.length === 0) io.stdout("no errors were found\n");
  for (const p of result.errors) io.stdout(`damaged: ${p.object}: ${p.message}\n`);
}

/** `check --json`'s last line: exactly these fields. */
export function checkSummaryJson(result: CheckResult) {
  return {
    type: "summary",
    snapshots: result.snapshots,
    packs: result.packsChecked,
    blobs: result.blobsChecked,
    packs_read: result.packsRead,
    blobs_read: result.blobsRead,
    unindexed_packs: result.unindexedPacks,
    errors: result.errors.map((e) => ({ object: e.object, message: e.message })),
  };
}

export const checkCommand: Command = {
  name: "check",
  summary: "verify the repository (structure; --read-data: every byte)",
  usage,
  async run(argv, io) {
    const { flags, positionals } = parseFlags(argv, {
      ...REPO_FLAGS,
      "read-data": { type: "boolean" },
      "read-data-subset": { type: "string" },
      "rebuild-index": { type: "boolean" },
      json: { type: "boolean" },
      verbose: { type: "boolean", short: "v" },
    });
    takePositionals(positionals, []);
    if (flags["read-data"] && flags["read-data-subset"] !== undefined) {
      throw new UsageError("use either --read-data or --read-data-subset, not both");
    }
    const subset =
      flags["read-data-subset"] === undefined ? undefined : parsePercent(flags["read-data-subset"]);
    const json = flags.json === true;
    const target = resolveTarget(flags, io);
    const progress = createProgressRenderer(io, { json, intervalMs: json ? 500 : 200 });
    const result = await withCancellation((signal) =>
      withRepository(target, { lock: "shared", signal }, async (repo) => {
        const adopted = flags["rebuild-index"] ? await rebuildIndex(repo, io, signal, json) : [];
        const result = await checkRepository(repo, {
          readData: flags["read-data"] === true,
          readDataSubsetPct: subset,
          onProgress: (e) => progress.onEvent(e),
          onStep: flags.verbose ? stepPrinter(io) : undefined,
          signal,
        });
        return { ...result, errors: [...adopted, ...result.errors] };
      }),
    ).finally(() => progress.finish());
    if (json) io.stdout(`${JSON.stringify(checkSummaryJson(result))}\n`);
    else printText(io, result, subset);
    if (result.errors.length === 0) return 0;
    io.stderr(`backapp check: found ${count(result.errors.length, "problem")}\n`);
    return 1;
  },
};
