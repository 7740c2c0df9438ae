import { environment, isInteractive } from "../config/index.ts";

/** What a command may touch of the outside world; tests pass their own. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Binary output (dump). */
  stdoutStream: NodeJS.WritableStream;
  env: Record<string, string | undefined>;
  isTTY: boolean;
}

export function processIo(): CliIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    stdoutStream: process.stdout,
    env: environment(),
    isTTY: isInteractive(),
  };
}

/** A command: parses its own argv, does its work, returns the process exit code. */
export interface Command {
  name: string;
  /** One line for `backapp --help`. */
  summary: string;
  /** Full usage text printed on `backapp CMD --help` and after usage errors. */
  usage: string;
  run(argv: string[], io: CliIo): Promise<number>;
}
