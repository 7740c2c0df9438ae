import { type DiffEntry, diff } from "../engine/diff.ts";
import { parseFlags } from "./args.ts";
import type { Command } from "./io.ts";
import { withCancellation } from "./repo/cancel.ts";
import { jsonArrayWriter } from "./repo/json-array.ts";
import {
  REPO_FLAGS,
  REPO_FLAGS_USAGE,
  resolveTarget,
  snapshotArg,
  takePositionals,
  warnDamaged,
  withRepository,
} from "./repo/options.ts";

const usage = `Usage: backapp diff --repo REPO SNAPSHOT SNAPSHOT [--json]

Shows what changed from the first snapshot to the second: "+" added, "-" removed, "M" content
changed, "T" type changed, "U" only metadata (mode, owner, mtime, symlink target, extended
attributes) changed, as restic marks them.

Flags:
  --json   a JSON array of {path, kind: added|removed|changed,
           changes: [type|content|target|mode|owner|mtime|xattrs]}

${REPO_FLAGS_USAGE}`;

function marker(e: DiffEntry): string {
  if (e.kind === "added") return "+";
  if (e.kind === "removed") return "-";
  if (e.changes.includes("type")) return "T";
  return e.changes.includes("content") ? "M" : "U";
}

export const diffCommand: Command = {
  name: "diff",
  summary: "show differences between two snapshots",
  usage,
  async run(argv, io) {
    const { flags, positionals } = parseFlags(argv, { ...REPO_FLAGS, json: { type: "boolean" } });
    const [refA, refB] = takePositionals(positionals, ["SNAPSHOT", "SNAPSHOT"]);
    const refs = [snapshotArg(refA!), snapshotArg(refB!)];
    const target = resolveTarget(flags, io);
    const out = jsonArrayWriter(io);
    const counts = { added: 0, removed: 0, changed: 0 };
    await withCancellation((signal) =>
      withRepository(target, { lock: "shared", signal }, async (repo) => {
        const a = await repo.findSnapshot(refs[0]!, signal, undefined, warnDamaged(io));
        const b = await repo.findSnapshot(refs[1]!, signal, undefined, warnDamaged(io));
        for await (const e of diff(repo, a, b, signal)) {
          counts[e.kind]++;
          if (flags.json) out.push({ path: e.path, kind: e.kind, changes: e.changes });
          else {
            const what = e.kind === "changed" ? `  (${e.changes.join(", ")})` : "";
            io.stdout(`${marker(e)}  ${e.path}${what}\n`);
          }
        }
      }),
    );
    if (flags.json) out.end();
    else io.stdout(`${counts.added} added, ${counts.removed} removed, ${counts.changed} changed\n`);
    return 0;
  },
};
