import { type RepositoryStats, repositoryStats } from "../engine/stats.ts";
import { formatBytes } from "../util/bytes.ts";
import { parseFlags } from "./args.ts";
import type { Command } from "./io.ts";
import { withCancellation } from "./repo/cancel.ts";
import { count } from "./repo/format.ts";
import {
  REPO_FLAGS,
  REPO_FLAGS_USAGE,
  resolveTarget,
  takePositionals,
  withRepository,
} from "./repo/options.ts";

const usage = `Usage: backapp stats --repo REPO [--json]

Shows the repository's sizes: logical size (what a restore writes) of the latest snapshot and of
all snapshots together, unique size (plaintext of the distinct blobs snapshots reference), stored
size (all pack bytes), the dedup ratio (logical / unique file data) and compression ratio
(unique / its stored bytes), and pack and blob counts.

Flags:
  --json   print {snapshots, latest_snapshot, latest_size, latest_files, total_size, total_files,
           unique_size, unique_data_size, unique_stored_size, stored_size, dedup_ratio,
           compression_ratio, packs, blobs, referenced_blobs}

${REPO_FLAGS_USAGE}`;

function statsJson(s: RepositoryStats) {
  return {
    snapshots: s.snapshots,
    latest_snapshot: s.latest.id,
    latest_size: s.latest.size,
    latest_files: s.latest.files,
    total_size: s.totalSize,
    total_files: s.totalFiles,
    unique_size: s.uniqueSize,
    unique_data_size: s.uniqueDataSize,
    unique_stored_size: s.uniqueStoredSize,
    stored_size: s.storedSize,
    dedup_ratio: s.dedupRatio,
    compression_ratio: s.compressionRatio,
    packs: s.packs,
    blobs: s.blobs,
    referenced_blobs: s.referencedBlobs,
  };
}

/** "3.36x", or "-" when there is nothing to compare (the JSON then holds 0). */
function ratioText(r: number): string {
  return r > 0 ? `${r.toFixed(2)}x` : "-";
}

export const statsCommand: Command = {
  name: "stats",
  summary: "show repository sizes, dedup and compression ratios",
  usage,
  async run(argv, io) {
    const { flags, positionals } = parseFlags(argv, { ...REPO_FLAGS, json: { type: "boolean" } });
    takePositionals(positionals, []);
    const target = resolveTarget(flags, io);
    const onDamaged = (id: string, e: Error) =>
      io.stderr(
        `backapp stats: warning: snapshot ${id.slice(0, 12)} cannot be read and is not counted: ${e.message}\n`,
      );
    const s = await withCancellation((signal) =>
      withRepository(target, { lock: "shared", signal }, async (repo) => {
        const snapshots = await repo.listSnapshots(signal, onDamaged);
        return repositoryStats(repo, { signal, snapshots });
      }),
    );
    if (flags.json) {
      io.stdout(`${JSON.stringify(statsJson(s))}\n`);
      return 0;
    }
    const lines = [
      `snapshots:          ${s.snapshots}`,
      `latest snapshot:    ${formatBytes(s.latest.size)} in ${s.latest.files} files${s.latest.id ? ` (${s.latest.id.slice(0, 8)})` : ""}`,
      `all snapshots:      ${formatBytes(s.totalSize)} in ${count(s.totalFiles, "file")}`,
      `unique data:        ${formatBytes(s.uniqueSize)} (${count(s.referencedBlobs, "blob")})`,
      `stored:             ${formatBytes(s.storedSize)} in ${s.packs} packs (${s.blobs} blobs indexed)`,
      `dedup ratio:        ${ratioText(s.dedupRatio)}`,
      `compression ratio:  ${ratioText(s.compressionRatio)}`,
    ];
    io.stdout(`${lines.join("\n")}\n`);
    return 0;
  },
};
