import { listLocks, removeAllLocks, removeStaleLocks } from "../engine/repository/index.ts";
import { parseFlags } from "./args.ts";
import type { Command } from "./io.ts";
import {
  REPO_FLAGS,
  REPO_FLAGS_USAGE,
  resolveTarget,
  takePositionals,
  withRepository,
} from "./repo/options.ts";

const usage = `Usage: backapp unlock --repo REPO [--remove-all]

Removes stale locks: locks not refreshed for 30 minutes, and locks of this host whose process no
longer exists. Locks of running operations stay, and are listed.

Flags:
  --remove-all   remove every lock, even live ones (only when you know nothing else is running)

${REPO_FLAGS_USAGE}`;

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
        const n = await removeAllLocks(repo.backend);
        io.stdout(`removed ${n} lock${n === 1 ? "" : "s"}\n`);
        return 0;
      }
      const n = await removeStaleLocks(repo.backend, repo.masterKeys);
      io.stdout(`removed ${n} stale lock${n === 1 ? "" : "s"}\n`);
      for (const l of await listLocks(repo.backend, repo.masterKeys)) {
        const kind = l.exclusive ? "exclusive" : "shared";
        io.stdout(`still locked: ${kind} lock by ${l.username}@${l.hostname} pid ${l.pid} since ${l.time}\n`);
      }
      return 0;
    });
  },
};
