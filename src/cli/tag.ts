import { selectSnapshots } from "../engine/snapshot-filter.ts";
import { retagSnapshots } from "../engine/tag.ts";
import { parseFlags, UsageError } from "./args.ts";
import type { Command } from "./io.ts";
import { withCancellation } from "./repo/cancel.ts";
import { count, formatTags, shortId } from "./repo/format.ts";
import { REPO_FLAGS, REPO_FLAGS_USAGE, resolveTarget, snapshotArg, withRepository } from "./repo/options.ts";
import { parseSelection, SELECT_FLAGS, SELECT_FLAGS_USAGE } from "./repo/select.ts";

const usage = `Usage: backapp tag --repo REPO (--add T | --remove T | --set T)... [filters] [SNAPSHOT...]

Changes the tags of the snapshots named (full id, unique prefix of 8+ hex characters, or
"latest"), or of every snapshot the filters select (all snapshots when neither is given). Each
changed snapshot is written anew with a new id (snapshot ids are hashes of their content), then
the old one is removed; unchanged ones keep their id. Takes the exclusive lock.

Flags:
  --add T[,T2...]        add these tags (repeatable)
  --remove T[,T2...]     remove these tags (repeatable)
  --set T[,T2...]        replace all tags (repeatable; --set "" removes every tag);
                         --add/--remove apply after --set
  --json                 print one JSON array of {old, new} ids (new is null when unchanged)

${SELECT_FLAGS_USAGE}

${REPO_FLAGS_USAGE}`;

export const tagCommand: Command = {
  name: "tag",
  summary: "add, remove or set the tags of snapshots",
  usage,
  async run(argv, io) {
    const { flags, positionals } = parseFlags(argv, {
      ...REPO_FLAGS,
      ...SELECT_FLAGS,
      add: { type: "string", multiple: true },
      remove: { type: "string", multiple: true },
      set: { type: "string", multiple: true },
      json: { type: "boolean" },
    });
    if (!flags.add && !flags.remove && !flags.set) throw new UsageError("missing --add, --remove or --set");
    const refs = positionals.map(snapshotArg);
    const selection = parseSelection(flags);
    const target = resolveTarget(flags, io);
    const change = { add: flags.add, remove: flags.remove, set: flags.set };
    const results = await withCancellation((signal) =>
      withRepository(target, { lock: "exclusive", signal }, async (repo) => {
        const chosen =
          refs.length > 0
            ? await Promise.all(refs.map((r) => repo.findSnapshot(r, signal)))
            : selectSnapshots(await repo.listSnapshots(signal), selection);
        const unique = [...new Map(chosen.map((s) => [s.id, s])).values()];
        return retagSnapshots(repo, unique, change, signal);
      }),
    );
    if (flags.json) {
      io.stdout(`${JSON.stringify(results.map((r) => ({ old: r.old.id, new: r.now?.id ?? null })))}\n`);
      return 0;
    }
    for (const r of results) {
      if (r.now)
        io.stdout(
          `${shortId(r.old.id)} -> ${shortId(r.now.id)}  tags: ${formatTags(r.now.tags) || "(none)"}\n`,
        );
    }
    const changed = results.filter((r) => r.now).length;
    io.stdout(
      `changed ${count(changed, "snapshot")}${results.length > changed ? `, ${results.length - changed} already as asked` : ""}\n`,
    );
    return 0;
  },
};
