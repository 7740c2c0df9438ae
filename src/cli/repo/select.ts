/** The snapshot filter flags shared by snapshots, ls, find, tag and copy (restic's names). */
import type { RepositoryImpl } from "../../engine/repository/index.ts";
import { type SnapshotSelection, selectSnapshots } from "../../engine/snapshot-filter.ts";
import type { Snapshot } from "../../engine/types.ts";
import { NotFoundError } from "../../util/errors.ts";
import { type FlagSpecs, intFlag, type ParsedFlags } from "../args.ts";
import type { CliIo } from "../io.ts";
import { warnDamaged } from "./options.ts";

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

/** `--host`, `--tag`, `--path`: which snapshot "latest" means (ls, dump, restore, find). */
export const LATEST_FLAGS = {
  host: SELECT_FLAGS.host,
  tag: SELECT_FLAGS.tag,
  path: SELECT_FLAGS.path,
} as const satisfies FlagSpecs;

export const LATEST_FLAGS_USAGE = `  --host NAME, --tag T[,T2...], --path PATH
                         with "latest": the latest snapshot of this host, with these tags,
                         holding this path (repeatable, as for "backapp snapshots")`;

/** A SNAPSHOT argument; "latest" honours the filters (NotFoundError when none matches). */
export async function resolveSnapshot(
  repo: RepositoryImpl,
  ref: string,
  selection: SnapshotSelection,
  signal: AbortSignal,
  io: CliIo,
): Promise<Snapshot> {
  const filtered = Boolean(selection.hosts?.length || selection.tags?.length || selection.paths?.length);
  if (ref !== "latest" || !filtered) return repo.findSnapshot(ref, signal, undefined, warnDamaged(io));
  const found = selectSnapshots(await repo.listSnapshots(signal, warnDamaged(io)), selection).at(-1);
  if (!found) throw new NotFoundError("no snapshot matches --host/--tag/--path");
  return found;
}
