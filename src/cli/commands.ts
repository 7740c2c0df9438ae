/** Every CLI command, in the order `backapp --help` lists them. Add new commands here. */
import type { Command } from "./io.ts";
import { serveCommand } from "./serve.ts";

export const commands: Command[] = [serveCommand];
