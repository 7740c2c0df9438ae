import { dump } from "../engine/dump.ts";
import { dumpTar } from "../engine/dump-tar.ts";
import { findPath } from "../engine/ls.ts";
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

const usage = `Usage: backapp dump --repo REPO SNAPSHOT PATH

Writes the content of FILE (its absolute path in the snapshot, e.g. /home/me/notes.txt) to
standard output as raw bytes, every block authenticated as it is read. A folder (or "/", the
whole snapshot) is written as a POSIX tar archive of everything below it (pax headers for long
or non-ASCII names, nanosecond times): backapp dump latest /home/me > me.tar.

${REPO_FLAGS_USAGE}`;

/** Resolves once everything written so far to `stream` has been handed to the OS. */
function flushed(stream: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(new Uint8Array(0), (e) => (e ? reject(e) : resolve()));
  });
}

export const dumpCommand: Command = {
  name: "dump",
  summary: "write a file of a snapshot, or a folder as a tar, to stdout",
  usage,
  async run(argv, io) {
    const { flags, positionals } = parseFlags(argv, REPO_FLAGS);
    const [ref, file] = takePositionals(positionals, ["SNAPSHOT", "FILE"]);
    const snapshotRef = snapshotArg(ref!);
    const target = resolveTarget(flags, io);
    await withCancellation((signal) =>
      withRepository(target, { lock: "shared", signal }, async (repo) => {
        const snapshot = await repo.findSnapshot(snapshotRef, signal, undefined, warnDamaged(io));
        const { node } = await findPath(repo, snapshot, file!, signal);
        if (node === null || node.type === "dir")
          await dumpTar(repo, snapshot, file!, io.stdoutStream, signal);
        else await dump(repo, snapshot, file!, io.stdoutStream, signal);
      }),
    );
    await flushed(io.stdoutStream);
    return 0;
  },
};
