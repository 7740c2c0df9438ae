import { parseFlags } from "./args.ts";
import type { Command } from "./io.ts";
import { displayTime, shortId, snapshotJson, table } from "./repo/format.ts";
import {
  REPO_FLAGS,
  REPO_FLAGS_USAGE,
  resolveTarget,
  takePositionals,
  warnDamaged,
  withRepository,
} from "./repo/options.ts";

const usage = `Usage: backapp snapshots --repo REPO [--json]

Lists the repository's snapshots, oldest first.

Flags:
  --json   print a JSON array of {id, short_id, time, hostname, paths, tags, parent, summary}

${REPO_FLAGS_USAGE}`;

export const snapshotsCommand: Command = {
  name: "snapshots",
  summary: "list snapshots",
  usage,
  async run(argv, io) {
    const { flags, positionals } = parseFlags(argv, { ...REPO_FLAGS, json: { type: "boolean" } });
    takePositionals(positionals, []);
    const target = resolveTarget(flags, io);
    const all = await withRepository(target, { lock: "none" }, (repo) =>
      repo.listSnapshots(undefined, warnDamaged(io)),
    );
    if (flags.json) {
      io.stdout(`${JSON.stringify(all.map(snapshotJson))}\n`);
      return 0;
    }
    const rows = all.map((s) => [
      shortId(s.id),
      displayTime(s.time),
      s.hostname,
      s.tags.join(","),
      s.paths.join(" "),
    ]);
    io.stdout(table(["ID", "Time (UTC)", "Host", "Tags", "Paths"], rows));
    io.stdout(`${all.length} snapshot${all.length === 1 ? "" : "s"}\n`);
    return 0;
  },
};
