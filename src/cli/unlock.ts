import {
  describeLock,
  type LockInfo,
  listLocks,
  removeAllLocks,
  removeStaleLocks,
} from "../engine/repository/index.ts";
import { parseFlags } from "./args.ts";
import type { CliIo, Command } from "./io.ts";
import {
  REPO_FLAGS,
  REPO_FLAGS_USAGE,
  resolveTarget,
  takePositionals,
  withRepository,
} from "./repo/options.ts";

const usage = `Usage: backapp unlock --repo REPO [--remove-all]

Removes stale locks: locks not refreshed for 30 minutes, and locks of this host whose process no
longer exists. Locks of running operations stay, and are listed. Prints each lock it removes.

Flags:
  --remove-all   remove every lock, even live or unreadable ones (only when you know nothing else
                 is running)

${REPO_FLAGS_USAGE}`;

function printRemoved(io: CliIo, removed: LockInfo[], what: string): void {
  for (const l of removed) io.stdout(`removed ${describeLock(l)}\n`);
  io.stdout(`removed ${removed.length} ${what}${removed.length === 1 ? "" : "s"}\n`);
}

export const unlockCommand: Command = {
  name: "unlock",
  summary: "remove stale repository locks",
  usage,
  async run(argv, io) {
    const { flags, positionals } = parseFlags(argv, { ...REPO_FLAGS, "remove-all": { type: "boolean" } });
    takePositionals(positionals, []);
    const target = resolveTarget(flags, io);
    return withRepository(target, { lock: "none" }, async (repo) => {
      if (flags["remove-all"]) {
        printRemoved(io, await removeAllLocks(repo.backend, repo.masterKeys), "lock");
        return 0;
      }
      printRemoved(io, await removeStaleLocks(repo.backend, repo.masterKeys), "stale lock");
      for (const l of await listLocks(repo.backend, repo.masterKeys)) {
        io.stdout(
          `still locked: ${describeLock(l)}${l.unreadable ? "; unlock --remove-all deletes it" : ""}\n`,
        );
      }
      return 0;
    });
  },
};
