/**
 * Starts a run's child process and talks to it: the spec goes on stdin (never argv or the
 * environment: it holds the repository passphrase), JSON lines come back on stdout. Cancel asks
 * politely on stdin, then SIGTERM, then SIGKILL, so a stuck network call cannot hold a run for ever.
 */
import type { ChildMessage, ChildSpec } from "./run-protocol.ts";

export interface ChildRun {
  /** Resolves once the child exited and every line it wrote was handed to onMessage. */
  done: Promise<{ exitCode: number | null; stderrTail: string }>;
  /** Asks the child to stop (no snapshot); escalates to signals if it does not. Idempotent. */
  cancel(): void;
  /** SIGKILL at once (shutdown after the drain deadline). */
  kill(): void;
}

/** After a cancel: SIGTERM after this long, SIGKILL after twice as long. */
const CANCEL_ESCALATE_MS = 15_000;
const STDERR_TAIL = 4096;

async function readLines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of stream) {
    buffered += decoder.decode(chunk, { stream: true });
    let nl = buffered.indexOf("\n");
    while (nl >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.trim() !== "") onLine(line);
      nl = buffered.indexOf("\n");
    }
  }
  if (buffered.trim() !== "") onLine(buffered);
}

export async function tail(stream: ReadableStream<Uint8Array>): Promise<string> {
  let text = "";
  const decoder = new TextDecoder();
  for await (const chunk of stream)
    text = (text + decoder.decode(chunk, { stream: true })).slice(-STDERR_TAIL);
  return text;
}

export function startChildRun(
  command: string[],
  spec: ChildSpec,
  onMessage: (message: ChildMessage) => void,
): ChildRun {
  const proc = Bun.spawn(command, { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  try {
    proc.stdin.write(`${JSON.stringify(spec)}\n`);
    // A child that dies at once (killed at shutdown) breaks the pipe: `done` reports it.
    Promise.resolve(proc.stdin.flush()).catch(() => {});
  } catch {
    // Same: the exit code and stderr say what happened.
  }
  const timers: ReturnType<typeof setTimeout>[] = [];
  const stdout = readLines(proc.stdout, (line) => {
    try {
      onMessage(JSON.parse(line) as ChildMessage);
    } catch {
      // Not ours (a stray print): ignore rather than fail the run.
    }
  });
  const done = (async () => {
    const [stderrTail] = await Promise.all([tail(proc.stderr), stdout, proc.exited]);
    for (const t of timers) clearTimeout(t);
    return { exitCode: proc.exitCode, stderrTail };
  })();
  let cancelled = false;
  return {
    done,
    cancel() {
      if (cancelled) return;
      cancelled = true;
      try {
        proc.stdin.write('{"type":"cancel"}\n');
        void proc.stdin.flush();
      } catch {
        // Already gone.
      }
      timers.push(setTimeout(() => proc.kill("SIGTERM"), CANCEL_ESCALATE_MS));
      timers.push(setTimeout(() => proc.kill("SIGKILL"), 2 * CANCEL_ESCALATE_MS));
    },
    kill() {
      proc.kill("SIGKILL");
    },
  };
}
