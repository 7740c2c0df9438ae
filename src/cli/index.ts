import { BackappError, CancelledError, ValidationError, WrongPasswordError } from "../util/errors.ts";
import { version } from "../util/version.ts";
import { UsageError } from "./args.ts";
import { commands } from "./commands.ts";
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

function findCommand(name: string): Command | undefined {
  return commands.find((c) => c.name === name);
}

/** Runs one command line; returns the exit code. Never throws. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === "--help" || first === "-h" || first === "help") {
    const topic = first === "help" && rest[0] ? findCommand(rest[0]) : undefined;
    io.stdout(topic ? topic.usage : mainUsage());
    return EXIT_OK;
  }
  if (first === "--version" || first === "-V" || first === "version") {
    io.stdout(`backapp ${version}\n`);
    return EXIT_OK;
  }
  const command = findCommand(first);
  if (!command) {
    io.stderr(`backapp: unknown command "${first}"\n\n${mainUsage()}`);
    return EXIT_USAGE;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    io.stdout(command.usage);
    return EXIT_OK;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    return reportError(command, error, io);
  }
}

function reportError(command: Command, error: unknown, io: CliIo): number {
  if (error instanceof UsageError) {
    io.stderr(`backapp ${command.name}: ${error.message}\n\n${command.usage}`);
    return EXIT_USAGE;
  }
  if (error instanceof CancelledError) {
    io.stderr(`backapp ${command.name}: cancelled\n`);
    return EXIT_FATAL;
  }
  if (
    error instanceof WrongPasswordError ||
    error instanceof ValidationError ||
    error instanceof BackappError
  ) {
    io.stderr(`backapp ${command.name}: ${error.message}\n`);
    return EXIT_FATAL;
  }
  const message = error instanceof Error ? error.message : String(error);
  io.stderr(`backapp ${command.name}: ${message}\n`);
  if (io.env.BACKAPP_DEBUG && error instanceof Error && error.stack) io.stderr(`${error.stack}\n`);
  return EXIT_FATAL;
}
