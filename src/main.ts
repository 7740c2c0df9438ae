#!/usr/bin/env bun
/**
 * Entry point: hands the command line to the CLI dispatcher and exits with its code. The hidden
 * `__run` command is the child process of one server-side backup run (src/jobs/run-child.ts):
 * not a user command, so it is not listed in --help.
 */
import { tuneAllocator } from "./config/allocator.ts";

// First, before the rest of the program is even loaded: may restart the process (see allocator.ts).
await tuneAllocator();
const argv = process.argv.slice(2);
const code =
  argv[0] === "__run"
    ? await (await import("./jobs/run-child.ts")).runChildMain()
    : await (await import("./cli/index.ts")).runCli(argv, (await import("./cli/io.ts")).processIo());
process.exit(code);
