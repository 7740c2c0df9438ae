import { ensureSetupToken } from "../auth/accounts.ts";
import { resolveDataDir } from "../config/index.ts";
import { openDatabase } from "../db/client.ts";
import { systemClock } from "../util/clock.ts";
import { BackappError } from "../util/errors.ts";
import { parseFlags, UsageError } from "./args.ts";
import type { Command } from "./io.ts";

const usage = `Usage: backapp setup-token [--data-dir DIR]

Prints the one-time token that /setup asks for while no account exists. The server prints the
same token in its log at start. Works while the server runs on the same data dir.

Flags:
  --data-dir DIR   where backapp.db lives (env BACKAPP_DATA_DIR, default: the platform's data dir)
`;

export const setupTokenCommand: Command = {
  name: "setup-token",
  summary: "print the one-time token for creating the first account",
  usage,
  async run(argv, io) {
    const { flags, positionals } = parseFlags(argv, { "data-dir": { type: "string" } });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    // No data-dir lock: the server may be running; SQLite's busy timeout handles the sharing.
    const database = openDatabase(resolveDataDir(flags["data-dir"], io.env));
    try {
      const token = ensureSetupToken({ db: database.db, clock: systemClock });
      if (!token) {
        throw new BackappError("setup is complete: an account exists (add more with `backapp user add`)");
      }
      io.stdout(`${token}\n`);
      return 0;
    } finally {
      database.close();
    }
  },
};
