import { rewriteSnapshots } from "../engine/rewrite.ts";
import { selectSnapshots } from "../engine/snapshot-filter.ts";
import { parseFlags, UsageError } from "./args.ts";
import type { Command } from "./io.ts";
import { withCancellation } from "./repo/cancel.ts";
import { count, shortId } from "./repo/format.ts";
import { REPO_FLAGS, REPO_FLAGS_USAGE, resolveTarget, snapshotArg, withRepository } from "./repo/options.ts";
import { parseSelection, SELECT_FLAGS, SELECT_FLAGS_USAGE } from "./repo/select.ts";

const usage = `Usage: backapp rewrite --repo REPO --exclude GLOB... [--forget] [--dry-run] [filters] [SNAPSHOT...]

Removes the files and folders matching --exclude (patterns as for backup, docs/patterns.md,
matched against the absolute snapshot path) from the snapshots named, or from those the filters
select (all when neither is given). Each changed snapshot is saved anew, tagged "rewrite"; the
original stays unless --forget. Run "backapp prune" afterwards to free the data. Takes the
exclusive lock.

Flags:
  --exclude GLOB         what to remove (repeatable; required)
  --forget               remove each original snapshot once its rewrite is saved
  --dry-run, -n          list what would be removed; change nothing
  --json                 print one array of {"old", "new", "removed"} (new is null when nothing
                         matched or on a dry run)

${SELECT_FLAGS_USAGE}

${REPO_FLAGS_USAGE}`;

export const rewriteCommand: Command = {
  name: "rewrite",
  summary: "remove files from existing snapshots (--exclude)",
  usage,
  async run(argv, io) {
    const { flags, positionals } = parseFlags(argv, {
      ...REPO_FLAGS,
      ...SELECT_FLAGS,
      exclude: { type: "string", multiple: true },
      forget: { type: "boolean" },
      "dry-run": { type: "boolean", short: "n" },
      json: { type: "boolean" },
    });
    if (!flags.exclude || flags.exclude.length === 0)
      throw new UsageError("missing --exclude GLOB (what to remove)");
    if (flags.exclude.some((e) => e === "")) throw new UsageError("flag --exclude needs a non-empty pattern");
    const refs = positionals.map(snapshotArg);
    const selection = parseSelection(flags);
    const target = resolveTarget(flags, io);
    const dryRun = flags["dry-run"] === true;
    const results = await withCancellation((signal) =>
      withRepository(target, { lock: dryRun ? "shared" : "exclusive", signal }, async (repo) => {
        const chosen =
          refs.length > 0
            ? await Promise.all(refs.map((r) => repo.findSnapshot(r, signal)))
            : selectSnapshots(await repo.listSnapshots(signal), selection);
        const unique = [...new Map(chosen.map((s) => [s.id, s])).values()];
        return rewriteSnapshots(repo, unique, {
          excludes: flags.exclude!,
          forget: flags.forget === true,
          dryRun,
          signal,
          onRemove: (s, p) => {
            if (!flags.json) io.stdout(`${dryRun ? "would remove" : "removed"} ${p} from ${shortId(s.id)}\n`);
          },
        });
      }),
    );
    if (flags.json) {
      const rows = results.map((r) => ({ old: r.old.id, new: r.now?.id ?? null, removed: r.removed }));
      io.stdout(`${JSON.stringify(rows)}\n`);
      return 0;
    }
    for (const r of results) if (r.now) io.stdout(`snapshot ${shortId(r.old.id)} -> ${shortId(r.now.id)}\n`);
    const changed = results.filter((r) => r.removed > 0).length;
    const what = dryRun ? "would rewrite" : "rewrote";
    io.stdout(
      `${what} ${count(changed, "snapshot")}${dryRun || changed === 0 ? "" : '; run "backapp prune" to free the data'}\n`,
    );
    return 0;
  },
};
