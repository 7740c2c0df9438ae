import {
  BackappError,
  CancelledError,
  redactQueryParams,
  ValidationError,
  WrongPasswordError,
} from "../util/errors.ts";
import { version } from "../util/version.ts";
import { UsageError } from "./args.ts";
import { type CommandEntry, commands } from "./commands.ts";
import type { CliIo, Command } from "./io.ts";

export const EXIT_OK = 0;
export const EXIT_FATAL = 1;
export const EXIT_USAGE = 2;
export const EXIT_PARTIAL = 3;

export function mainUsage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    "backapp — encrypted, deduplicated backups to S3 or a local folder, with a web UI.",
    "",
    "Usage: backapp COMMAND [FLAGS]",
    "",
    "Commands:",
    ...lines,
    "",
    "Global flags:",
    "  --help, -h     show help (also: backapp COMMAND --help)",
    "  --version, -V  print the version",
    "",
  ].join("\n");
}

function findCommand(name: string): CommandEntry | undefined {
  return commands.find((c) => c.name === name);
}

function usageError(io: CliIo, message: string): number {
  io.stderr(`backapp: ${message}\n\n${mainUsage()}`);
  return EXIT_USAGE;
}

/** `backapp`, `--help`, `help`, `help COMMAND`. */
async function printHelp(topic: string | undefined, io: CliIo): Promise<number> {
  if (topic === undefined) {
    io.stdout(mainUsage());
    return EXIT_OK;
  }
  const entry = findCommand(topic);
  if (!entry) return usageError(io, `unknown command "${topic}"`);
  io.stdout((await entry.load()).usage);
  return EXIT_OK;
}

/** Runs one command line; returns the exit code. Never throws. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === "--help" || first === "-h") return printHelp(undefined, io);
  if (first === "help") return printHelp(rest[0], io);
  if (first === "--version" || first === "-V" || first === "version") {
    io.stdout(`backapp ${version}\n`);
    return EXIT_OK;
  }
  if (first.startsWith("-"))
    return usageError(io, `unknown flag ${first.split("=")[0]} (flags go after the command)`);
  const entry = findCommand(first);
  if (!entry) return usageError(io, `unknown command "${first}"`);
  let command: Command;
  try {
    command = await entry.load();
  } catch (error) {
    io.stderr(
      `backapp ${first}: cannot load the command: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    return EXIT_FATAL;
  }
  if (wantsHelp(rest)) {
    io.stdout(command.usage);
    return EXIT_OK;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    return reportError(command, error, io);
  }
}

/** --help or -h before any `--` (after it they are operands, e.g. a file named "-h"). */
function wantsHelp(argv: string[]): boolean {
  const end = argv.indexOf("--");
  const flags = end === -1 ? argv : argv.slice(0, end);
  return flags.includes("--help") || flags.includes("-h");
}

function reportError(command: Command, error: unknown, io: CliIo): number {
  // Failed SQL queries list their bound values (hashes, emails): never print those.
  const message = redactQueryParams(error instanceof Error ? error.message : String(error));
  if (error instanceof UsageError) {
    io.stderr(`backapp ${command.name}: ${message}\n\n${command.usage}`);
    return EXIT_USAGE;
  }
  if (error instanceof CancelledError) {
    io.stderr(`backapp ${command.name}: cancelled\n`);
    return EXIT_FATAL;
  }
  io.stderr(`backapp ${command.name}: ${message}\n`);
  const expected =
    error instanceof WrongPasswordError || error instanceof ValidationError || error instanceof BackappError;
  if (!expected && io.env.BACKAPP_DEBUG && error instanceof Error && error.stack) {
    io.stderr(`${redactQueryParams(error.stack)}\n`);
  }
  return EXIT_FATAL;
}
