import { findInSnapshots } from "../engine/find.ts";
import { selectSnapshots } from "../engine/snapshot-filter.ts";
import { parseFlags, UsageError } from "./args.ts";
import type { Command } from "./io.ts";
import { lsJson, modeString, nsToIso } from "./ls.ts";
import { withCancellation } from "./repo/cancel.ts";
import { count, displayTime, shortId } from "./repo/format.ts";
import { jsonArrayWriter } from "./repo/json-array.ts";
import { REPO_FLAGS, REPO_FLAGS_USAGE, resolveTarget, warnDamaged, withRepository } from "./repo/options.ts";
import { parseSelection, SELECT_FLAGS, SELECT_FLAGS_USAGE } from "./repo/select.ts";

const usage = `Usage: backapp find --repo REPO [filters] [--ignore-case] [--json] PATTERN...

Searches every snapshot (or those the filters select), oldest first, for entries whose name
matches PATTERN (a glob: *, ?, [abc], ** across folders); a PATTERN with a "/" is matched
against the whole absolute path instead. Answers where and when a file existed.

Flags:
  --ignore-case, -i      match regardless of case
  --json                 one JSON array, streamed one element per line, of
                         {snapshot, time, path, name, type, mode, size, uid, gid, mtime, target?}

${SELECT_FLAGS_USAGE}

${REPO_FLAGS_USAGE}`;

export const findCommand: Command = {
  name: "find",
  summary: "find files across snapshots by name or path pattern",
  usage,
  async run(argv, io) {
    const { flags, positionals } = parseFlags(argv, {
      ...REPO_FLAGS,
      ...SELECT_FLAGS,
      "ignore-case": { type: "boolean", short: "i" },
      json: { type: "boolean" },
    });
    if (positionals.length === 0) throw new UsageError("missing PATTERN (what to look for)");
    if (positionals.some((p) => p === "")) throw new UsageError("PATTERN must not be empty");
    const selection = parseSelection(flags);
    const target = resolveTarget(flags, io);
    const out = jsonArrayWriter(io);
    let hits = 0;
    let current = "";
    await withCancellation((signal) =>
      withRepository(target, { lock: "shared", signal }, async (repo) => {
        const snapshots = selectSnapshots(await repo.listSnapshots(signal, warnDamaged(io)), selection);
        const found = findInSnapshots(repo, snapshots, positionals, {
          ignoreCase: flags["ignore-case"] === true,
          signal,
        });
        for await (const { snapshot: s, path, node } of found) {
          hits++;
          if (flags.json) {
            out.push({ snapshot: s.id, time: s.time, ...lsJson(path, node) });
            continue;
          }
          if (s.id !== current) {
            current = s.id;
            io.stdout(`snapshot ${shortId(s.id)} of ${displayTime(s.time)} UTC (${s.hostname}):\n`);
          }
          const link = node.type === "symlink" ? ` -> ${node.target}` : "";
          const size = String(node.size).padStart(12);
          io.stdout(
            `  ${modeString(node)} ${size}  ${displayTime(nsToIso(node.mtime))} UTC  ${path}${link}\n`,
          );
        }
      }),
    );
    if (flags.json) out.end();
    else io.stdout(`found ${count(hits, "match", "matches")}\n`);
    return 0;
  },
};
