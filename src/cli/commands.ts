/** Every CLI command, in the order `backapp --help` lists them. Add new commands here. */
import { checkCommand } from "./check.ts";
import { initCommand } from "./init.ts";
import type { Command } from "./io.ts";
import { serveCommand } from "./serve.ts";
import { setupTokenCommand } from "./setup-token.ts";
import { snapshotsCommand } from "./snapshots.ts";
import { userCommand } from "./user.ts";

export const commands: Command[] = [
  serveCommand,
  initCommand,
  snapshotsCommand,
  checkCommand,
  setupTokenCommand,
  userCommand,
];
