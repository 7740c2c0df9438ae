import {
  BackappError,
  CancelledError,
  LockedError,
  redactQueryParams,
  ValidationError,
  WrongPasswordError,
} from "../util/errors.ts";
import { version } from "../util/version.ts";
import { UsageError } from "./args.ts";
import { type CommandEntry, commands } from "./commands.ts";
import type { CliIo, Command } from "./io.ts";
import { didYouMean, shortUsage } from "./suggest.ts";

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
    "  --quiet, -q    (after the command) no status line; backup, restore, check, forget, prune,",
    "                 copy, rewrite, tag, key, unlock and init print nothing on stdout but JSON",
    "  --verbose, -v  (backup, restore, check, forget, prune, copy) list each file or step as it",
    "                 is handled; backapp help COMMAND says what",
    "",
  ].join("\n");
}

function findCommand(name: string): CommandEntry | undefined {
  return commands.find((c) => c.name === name);
}

/** A usage error before any command is known: the message and a pointer to the help, not all of it. */
function usageError(io: CliIo, message: string): number {
  io.stderr(`backapp: ${message}\nUsage: backapp COMMAND [FLAGS]; "backapp --help" lists the commands.\n`);
  return EXIT_USAGE;
}

function unknownCommand(io: CliIo, name: string): number {
  const names = commands.map((c) => c.name);
  return usageError(io, `unknown command "${name}"${didYouMean(name, names)}`);
}

/** `backapp`, `--help`, `help`, `help COMMAND`. */
async function printHelp(topic: string | undefined, io: CliIo): Promise<number> {
  if (topic === undefined) {
    io.stdout(mainUsage());
    return EXIT_OK;
  }
  const entry = findCommand(topic);
  if (!entry) return unknownCommand(io, topic);
  io.stdout((await entry.load()).usage);
  return EXIT_OK;
}

/** Runs one command line; returns the exit code. Never throws. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    // No command is a usage error (scripts that lost their arguments must not "succeed").
    io.stderr(mainUsage());
    return EXIT_USAGE;
  }
  if (first === "--help" || first === "-h") return printHelp(undefined, io);
  if (first === "help") return printHelp(rest[0], io);
  if (first === "--version" || first === "-V" || first === "version") {
    io.stdout(`backapp ${version}\n`);
    return EXIT_OK;
  }
  if (first.startsWith("-"))
    return usageError(io, `unknown flag ${first.split("=")[0]} (flags go after the command)`);
  const entry = findCommand(first);
  if (!entry) return unknownCommand(io, first);
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
  const { argv: args, quiet } = takeQuiet(rest);
  const runIo = quiet ? quietIo(io, command.name, args) : io;
  try {
    return await command.run(args, { ...runIo, command: command.name });
  } catch (error) {
    return reportError(command, error, io);
  }
}

/** Commands whose stdout is a report (not data): -q drops it unless --json asks for data. */
const REPORTS = new Set([
  "init",
  "backup",
  "restore",
  "check",
  "forget",
  "prune",
  "copy",
  "rewrite",
  "tag",
  "key",
  "unlock",
]);

/** `-q`/`--quiet` (anywhere before `--`) removed from the arguments. */
function takeQuiet(argv: string[]): { argv: string[]; quiet: boolean } {
  const end = argv.indexOf("--");
  const flags = end === -1 ? argv : argv.slice(0, end);
  const kept = flags.filter((a) => a !== "-q" && a !== "--quiet");
  const rest = end === -1 ? [] : argv.slice(end);
  return { argv: [...kept, ...rest], quiet: kept.length !== flags.length };
}

/** No status line; a report command's stdout is dropped (errors and warnings still go to stderr). */
function quietIo(io: CliIo, name: string, argv: string[]): CliIo {
  const json = argv.includes("--json");
  return { ...io, isTTY: false, stdout: REPORTS.has(name) && !json ? () => {} : io.stdout };
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
    io.stderr(`backapp ${command.name}: ${message}\n${shortUsage(command.usage, command.name)}`);
    return EXIT_USAGE;
  }
  if (error instanceof CancelledError) {
    io.stderr(`backapp ${command.name}: cancelled\n`);
    return EXIT_FATAL;
  }
  // A lock conflict says what to do, on the same single line.
  const hint =
    error instanceof LockedError
      ? '; wait for it to finish or retry with --retry-lock 10m (if that process is gone, "backapp unlock" removes stale locks)'
      : "";
  io.stderr(`backapp ${command.name}: ${message}${hint}\n`);
  const expected =
    error instanceof WrongPasswordError || error instanceof ValidationError || error instanceof BackappError;
  if (!expected && io.env.BACKAPP_DEBUG && error instanceof Error && error.stack) {
    io.stderr(`${redactQueryParams(error.stack)}\n`);
  }
  return EXIT_FATAL;
}
