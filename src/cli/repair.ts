import { resolveDataDir } from "../config/index.ts";
import { openDatabase } from "../db/client.ts";
import { repairIndex } from "../engine/repair-index.ts";
import { rebuildAllHistory } from "../jobs/recovery-history.ts";
import { parseFlags, UsageError } from "./args.ts";
import type { CliIo, Command } from "./io.ts";
import { withCancellation } from "./repo/cancel.ts";
import { REPO_FLAGS, REPO_FLAGS_USAGE, resolveTarget, withRepository } from "./repo/options.ts";

const usage = `Usage: backapp repair index --repo REPO [--read-data]
       backapp repair history [--data-dir DIR]

After packs were lost or damaged in the bucket: drops from the index every pack that is missing
or has the wrong size (with --read-data, also every pack whose bytes do not match its name), and
indexes packs no index file names. Nothing trusts the dropped data afterwards: the next backup
stores again every blob its sources still have, and "check" names the files of older snapshots
whose data no source brought back. Takes the exclusive lock.

"repair history" rebuilds the server's run history from its destinations' repositories (the
database is a cache of what they hold): every snapshot of a known job (tag job:<id>) without a run
row gets one, marked as recovered. Safe while the server runs; repositories are only read.

Flags:
  --read-data   download every indexed pack and drop the damaged ones too
  --data-dir DIR   history: where backapp.db lives (env BACKAPP_DATA_DIR, default: the platform's data dir)

${REPO_FLAGS_USAGE}`;

export const repairCommand: Command = {
  name: "repair",
  summary:
    "repair the repository (index: forget lost or damaged packs) or the server's history from its repositories",
  usage,
  async run(argv, io) {
    const { flags, positionals } = parseFlags(argv, {
      ...REPO_FLAGS,
      "read-data": { type: "boolean" },
      "data-dir": { type: "string" },
    });
    if (positionals.length === 1 && positionals[0] === "history") {
      return repairHistory(resolveDataDir(flags["data-dir"], io.env), io);
    }
    if (positionals.length !== 1 || positionals[0] !== "index") {
      throw new UsageError('repair needs what to repair: "index" or "history"');
    }
    const target = resolveTarget(flags, io);
    const r = await withCancellation((signal) =>
      withRepository(target, { lock: "exclusive", signal }, (repo) =>
        repairIndex(repo, { readData: flags["read-data"] === true, signal }),
      ),
    );
    for (const d of r.dropped)
      io.stdout(`dropped pack ${d.pack.slice(0, 12)} (${d.reason}): ${d.blobs} blobs\n`);
    if (r.adopted > 0) io.stdout(`indexed ${r.adopted} packs no index file named\n`);
    io.stdout(
      r.dropped.length === 0
        ? "the index names no lost or damaged pack\n"
        : `index rewritten without ${r.dropped.length} pack${r.dropped.length === 1 ? "" : "s"}; run backup to store the lost data again, then check\n`,
    );
    return 0;
  },
};

/** `repair history`: one line per destination; exit 1 when a repository could not be read. */
async function repairHistory(dataDir: string, io: CliIo): Promise<number> {
  // No data-dir lock: the server may be running; SQLite's busy timeout handles the sharing.
  const database = openDatabase(dataDir);
  try {
    const results = await rebuildAllHistory({ db: database.db, dataDir });
    for (const r of results) {
      io.stdout(
        r.problem
          ? `${r.name}: cannot read the repository: ${r.problem}\n`
          : `${r.name}: ${r.snapshots} snapshots, ${r.added} run${r.added === 1 ? "" : "s"} added to the history\n`,
      );
    }
    if (results.length === 0) io.stdout("no destinations\n");
    return results.some((r) => r.problem) ? 1 : 0;
  } finally {
    database.close();
  }
}
