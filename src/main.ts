#!/usr/bin/env bun
/** Entry point: hands the command line to the CLI dispatcher and exits with its code. */
import { runCli } from "./cli/index.ts";
import { processIo } from "./cli/io.ts";

const code = await runCli(process.argv.slice(2), processIo());
process.exit(code);
