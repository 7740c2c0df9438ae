import { repairIndex } from "../engine/repair-index.ts";
import { parseFlags, UsageError } from "./args.ts";
import type { Command } from "./io.ts";
import { withCancellation } from "./repo/cancel.ts";
import { REPO_FLAGS, REPO_FLAGS_USAGE, resolveTarget, withRepository } from "./repo/options.ts";

const usage = `Usage: backapp repair index --repo REPO [--read-data]

After packs were lost or damaged in the bucket: drops from the index every pack that is missing
or has the wrong size (with --read-data, also every pack whose bytes do not match its name), and
indexes packs no index file names. Nothing trusts the dropped data afterwards: the next backup
stores again every blob its sources still have, and "check" names the files of older snapshots
whose data no source brought back. Takes the exclusive lock.

Flags:
  --read-data   download every indexed pack and drop the damaged ones too

${REPO_FLAGS_USAGE}`;

export const repairCommand: Command = {
  name: "repair",
  summary: "repair the repository (index: forget lost or damaged packs)",
  usage,
  async run(argv, io) {
    const { flags, positionals } = parseFlags(argv, { ...REPO_FLAGS, "read-data": { type: "boolean" } });
    if (positionals.length !== 1 || positionals[0] !== "index") {
      throw new UsageError('repair needs what to repair: "index"');
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
