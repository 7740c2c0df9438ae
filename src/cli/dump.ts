import { dump } from "../engine/dump.ts";
import { parseFlags } from "./args.ts";
import type { Command } from "./io.ts";
import { withCancellation } from "./repo/cancel.ts";
import {
  REPO_FLAGS,
  REPO_FLAGS_USAGE,
  resolveTarget,
  snapshotArg,
  takePositionals,
  warnDamaged,
  withRepository,
} from "./repo/options.ts";

const usage = `Usage: backapp dump --repo REPO SNAPSHOT FILE

Writes the content of FILE (its absolute path in the snapshot, e.g. /home/me/notes.txt) to
standard output as raw bytes, every block authenticated as it is read.

${REPO_FLAGS_USAGE}`;

/** Resolves once everything written so far to `stream` has been handed to the OS. */
function flushed(stream: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(new Uint8Array(0), (e) => (e ? reject(e) : resolve()));
  });
}

export const dumpCommand: Command = {
  name: "dump",
  summary: "write one file of a snapshot to stdout",
  usage,
  async run(argv, io) {
    const { flags, positionals } = parseFlags(argv, REPO_FLAGS);
    const [ref, file] = takePositionals(positionals, ["SNAPSHOT", "FILE"]);
    const snapshotRef = snapshotArg(ref!);
    const target = resolveTarget(flags, io);
    await withCancellation((signal) =>
      withRepository(target, { lock: "shared", signal }, async (repo) => {
        const snapshot = await repo.findSnapshot(snapshotRef, signal, undefined, warnDamaged(io));
        await dump(repo, snapshot, file!, io.stdoutStream, signal);
      }),
    );
    await flushed(io.stdoutStream);
    return 0;
  },
};
