import { environment, isInteractive } from "../config/index.ts";

/** What a command may touch of the outside world; tests pass their own. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Binary output (dump). */
  stdoutStream: NodeJS.WritableStream;
  env: Record<string, string | undefined>;
  isTTY: boolean;
  /** Standard input as a byte stream (backup --stdin); absent where there is none. */
  stdin?: AsyncIterable<Uint8Array>;
  /** The command being run (set by the dispatcher): recorded in repository locks. */
  command?: string;
}

export function processIo(): CliIo {
  return {
    stdout: stdoutWriter(process.stdout),
    stderr: (text) => process.stderr.write(text),
    stdoutStream: process.stdout,
    stdin: process.stdin,
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

/**
 * Writes to stdout until its reader goes away (`backapp ls … | head`): then the rest of the output
 * is dropped quietly and the command finishes its work (a backup is not cut short by a closed
 * pipe), instead of an EPIPE stack trace.
 */
export function stdoutWriter(stream: NodeJS.WritableStream): (text: string) => void {
  let closed = false;
  const isBrokenPipe = (e: unknown) => (e as NodeJS.ErrnoException | null)?.code === "EPIPE";
  stream.on("error", (e) => {
    if (!isBrokenPipe(e)) throw e;
    closed = true;
  });
  return (text) => {
    if (closed) return;
    try {
      stream.write(text);
    } catch (e) {
      if (!isBrokenPipe(e)) throw e;
      closed = true;
    }
  };
}
