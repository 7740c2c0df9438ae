/** The snapshot filter flags shared by snapshots, ls, find, tag and copy (restic's names). */
import type { SnapshotSelection } from "../../engine/snapshot-filter.ts";
import { type FlagSpecs, intFlag, type ParsedFlags } from "../args.ts";

export const SELECT_FLAGS = {
  host: { type: "string", multiple: true },
  tag: { type: "string", multiple: true },
  path: { type: "string", multiple: true },
  latest: { type: "string" },
} as const satisfies FlagSpecs;

export const SELECT_FLAGS_USAGE = `Snapshot filters:
  --host NAME            only snapshots of this host (repeatable: any of them)
  --tag T[,T2...]        only snapshots holding all these tags (repeatable: any of the lists;
                         "" selects untagged snapshots)
  --path PATH            only snapshots whose paths include PATH (repeatable: all of them)
  --latest N             only the newest N snapshots of each host and set of paths`;

export function parseSelection(flags: ParsedFlags<typeof SELECT_FLAGS>): SnapshotSelection {
  return {
    hosts: flags.host,
    tags: flags.tag,
    paths: flags.path,
    latest: intFlag("latest", flags.latest, 1),
  };
}
