#!/usr/bin/env bun
/** Entry point: hands the command line to the CLI dispatcher and exits with its code. */
import { tuneAllocator } from "./config/allocator.ts";

// First, before the rest of the program is even loaded: may restart the process (see allocator.ts).
await tuneAllocator();
const { runCli } = await import("./cli/index.ts");
const { processIo } = await import("./cli/io.ts");
const code = await runCli(process.argv.slice(2), processIo());
process.exit(code);
