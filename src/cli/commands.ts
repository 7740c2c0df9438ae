/** Every CLI command, in the order `backapp --help` lists them. Add new commands here. */
import { backupCommand } from "./backup.ts";
import { checkCommand } from "./check.ts";
import { diffCommand } from "./diff.ts";
import { dumpCommand } from "./dump.ts";
import { forgetCommand } from "./forget.ts";
import { initCommand } from "./init.ts";
import type { Command } from "./io.ts";
import { keyCommand } from "./key.ts";
import { lsCommand } from "./ls.ts";
import { pruneCommand } from "./prune.ts";
import { restoreCommand } from "./restore.ts";
import { serveCommand } from "./serve.ts";
import { setupTokenCommand } from "./setup-token.ts";
import { snapshotsCommand } from "./snapshots.ts";
import { statsCommand } from "./stats.ts";
import { unlockCommand } from "./unlock.ts";
import { userCommand } from "./user.ts";

export const commands: Command[] = [
  serveCommand,
  initCommand,
  backupCommand,
  snapshotsCommand,
  restoreCommand,
  lsCommand,
  dumpCommand,
  diffCommand,
  checkCommand,
  forgetCommand,
  pruneCommand,
  statsCommand,
  keyCommand,
  unlockCommand,
  setupTokenCommand,
  userCommand,
];
