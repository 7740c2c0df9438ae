import { readRepositoryEnv } from "../config/index.ts";
import { copySnapshots } from "../engine/copy.ts";
import type { RepositoryImpl } from "../engine/repository/index.ts";
import { selectSnapshots } from "../engine/snapshot-filter.ts";
import { ValidationError } from "../util/errors.ts";
import { parseFlags, UsageError } from "./args.ts";
import type { Command } from "./io.ts";
import { withCancellation } from "./repo/cancel.ts";
import { count, shortId } from "./repo/format.ts";
import {
  REPO_FLAGS,
  REPO_FLAGS_USAGE,
  type RepoTarget,
  resolveTarget,
  snapshotArg,
  withRepository,
} from "./repo/options.ts";
import { findPassword } from "./repo/password.ts";
import { parseSelection, SELECT_FLAGS, SELECT_FLAGS_USAGE } from "./repo/select.ts";

const usage = `Usage: backapp copy --repo DEST --from-repo SRC [--from-password-file FILE | --from-password-command CMD] [filters] [-v] [SNAPSHOT...]

Copies snapshots from SRC into DEST (--repo): the snapshots named, or those the filters select
(all when neither is given). Blobs are read from SRC, authenticated, and stored under DEST's own
keys (the two may have different passphrases); no file is read again and data DEST already holds
is not stored twice. A snapshot DEST already holds (same time, host, paths and tags) is skipped,
so copy can run after every backup. Both repositories take a shared lock; S3 settings
(--s3-endpoint, --s3-region, AWS_*) apply to both.

Flags:
  --from-repo SRC              the source repository (env BACKAPP_FROM_REPO)
  --from-password-file FILE    its passphrase from FILE (env BACKAPP_FROM_PASSWORD_FILE)
  --from-password-command CMD  its passphrase from CMD's output (env BACKAPP_FROM_PASSWORD_COMMAND);
                               with neither: env BACKAPP_FROM_PASSWORD
  --json                       print {"copied", "skipped", "blobs_copied", "snapshots":
                               [{"source", "copy"}]} (copy is null for a skipped one)
  --verbose, -v                full snapshot ids and the new blobs each copy stored ("copied ID
                               -> ID (N new blobs)"); with --json no change

${SELECT_FLAGS_USAGE}

${REPO_FLAGS_USAGE}`;

const FLAGS = {
  ...REPO_FLAGS,
  ...SELECT_FLAGS,
  "from-repo": { type: "string" },
  "from-password-file": { type: "string" },
  "from-password-command": { type: "string" },
  json: { type: "boolean" },
  verbose: { type: "boolean", short: "v" },
} as const;

/** Opens the source; a missing passphrase names the source's own flags and variables. */
async function withSource<T>(source: RepoTarget, signal: AbortSignal, fn: (r: RepositoryImpl) => Promise<T>) {
  try {
    return await withRepository(source, { lock: "shared", signal }, fn);
  } catch (e) {
    if (e instanceof ValidationError && e.message.startsWith("no passphrase given")) {
      throw new ValidationError(
        "no passphrase given for the source repository: set BACKAPP_FROM_PASSWORD, or use --from-password-file FILE or --from-password-command CMD",
      );
    }
    throw e;
  }
}

export const copyCommand: Command = {
  name: "copy",
  summary: "copy snapshots from another repository (different passphrase allowed)",
  usage,
  async run(argv, io) {
    const { flags, positionals } = parseFlags(argv, FLAGS);
    const refs = positionals.map(snapshotArg);
    const selection = parseSelection(flags);
    const dest = resolveTarget(flags, io);
    const env = readRepositoryEnv(io.env);
    const address = flags["from-repo"] ?? env.from.repo;
    if (!address) throw new UsageError("missing --from-repo SRC (or BACKAPP_FROM_REPO)");
    if (address === dest.address) throw new UsageError("--from-repo and --repo name the same repository");
    const pw = findPassword(
      { "password-file": flags["from-password-file"], "password-command": flags["from-password-command"] },
      { ...env, ...env.from },
    );
    const source: RepoTarget = {
      ...dest,
      address,
      password: pw.password,
      passwordSource: `source ${pw.source}`,
    };
    const lines: { source: string; copy: string | null }[] = [];
    const result = await withCancellation((signal) =>
      withSource(source, signal, (src) =>
        withRepository(dest, { lock: "shared", signal }, async (dst) => {
          const all = await src.listSnapshots(signal);
          const chosen =
            refs.length > 0
              ? await Promise.all(refs.map((r) => src.findSnapshot(r, signal)))
              : selectSnapshots(all, selection);
          return copySnapshots(src, dst, chosen, await dst.listSnapshots(signal), {
            signal,
            onSnapshot: (s, copy, blobs) => {
              lines.push({ source: s.id, copy: copy?.id ?? null });
              if (flags.json) return;
              const id = (x: string) => (flags.verbose ? x : shortId(x));
              const added = flags.verbose ? ` (${count(blobs, "new blob")})` : "";
              io.stdout(
                copy
                  ? `copied ${id(s.id)} -> ${id(copy.id)}${added}\n`
                  : `skipped ${id(s.id)}: already in the destination\n`,
              );
            },
          });
        }),
      ),
    );
    if (flags.json) {
      const { copied, skipped, blobsCopied } = result;
      io.stdout(`${JSON.stringify({ copied, skipped, blobs_copied: blobsCopied, snapshots: lines })}\n`);
    } else {
      io.stdout(
        `copied ${count(result.copied, "snapshot")} (${count(result.blobsCopied, "new blob")}), skipped ${result.skipped}\n`,
      );
    }
    return 0;
  },
};
