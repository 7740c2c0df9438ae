import { selectSnapshots } from "../engine/snapshot-filter.ts";
import { parseFlags } from "./args.ts";
import type { Command } from "./io.ts";
import { displayTime, formatTags, shortId, snapshotJson, table } from "./repo/format.ts";
import {
  REPO_FLAGS,
  REPO_FLAGS_USAGE,
  resolveTarget,
  takePositionals,
  warnDamaged,
  withRepository,
} from "./repo/options.ts";
import { parseSelection, SELECT_FLAGS, SELECT_FLAGS_USAGE } from "./repo/select.ts";

const usage = `Usage: backapp snapshots --repo REPO [filters] [--json]

Lists the repository's snapshots, oldest first. Times are UTC.

Flags:
  --json                 print one JSON array of {id, short_id, time, hostname, paths, tags,
                         parent, summary}

${SELECT_FLAGS_USAGE}

${REPO_FLAGS_USAGE}`;

export const snapshotsCommand: Command = {
  name: "snapshots",
  summary: "list snapshots",
  usage,
  async run(argv, io) {
    const { flags, positionals } = parseFlags(argv, {
      ...REPO_FLAGS,
      ...SELECT_FLAGS,
      json: { type: "boolean" },
    });
    takePositionals(positionals, []);
    const selection = parseSelection(flags);
    const target = resolveTarget(flags, io);
    const all = await withRepository(target, { lock: "none" }, (repo) =>
      repo.listSnapshots(undefined, warnDamaged(io)),
    );
    const shown = selectSnapshots(all, selection);
    if (flags.json) {
      io.stdout(`${JSON.stringify(shown.map(snapshotJson))}\n`);
      return 0;
    }
    const rows = shown.map((s) => [
      shortId(s.id),
      displayTime(s.time),
      s.hostname,
      formatTags(s.tags),
      s.paths.join(" "),
    ]);
    io.stdout(table(["ID", "Time (UTC)", "Host", "Tags", "Paths"], rows));
    io.stdout(`${shown.length} snapshot${shown.length === 1 ? "" : "s"}\n`);
    return 0;
  },
};
