/** Every CLI command, in the order `backapp --help` lists them. Add new commands here. */
import { checkCommand } from "./check.ts";
import { initCommand } from "./init.ts";
import type { Command } from "./io.ts";
import { serveCommand } from "./serve.ts";
import { snapshotsCommand } from "./snapshots.ts";

export const commands: Command[] = [serveCommand, initCommand, snapshotsCommand, checkCommand];
