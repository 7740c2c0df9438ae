/**
 * Pre and post hooks of a job (admin-only commands): run through /bin/sh with a timeout and the
 * run described in BACKAPP_* environment variables. Output is kept short (its tail) for the log.
 */
import { environment } from "../config/index.ts";
import type { HookSpec } from "../db/backup-configs.ts";

export interface HookResult {
  ok: boolean;
  /** "exit 3", "timed out after 30 s", "cancelled", "cannot start: ..." */
  outcome: string;
  /** Last lines of stdout and stderr together. */
  output: string;
}

const OUTPUT_TAIL = 2000;

async function readTail(stream: ReadableStream<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  for await (const chunk of stream)
    text = (text + decoder.decode(chunk, { stream: true })).slice(-OUTPUT_TAIL);
  return text;
}

/** Runs a hook; never throws. A cancelled `signal` kills it. */
export async function runHook(
  hook: HookSpec,
  vars: Record<string, string>,
  signal: AbortSignal,
): Promise<HookResult> {
  if (signal.aborted) return { ok: false, outcome: "cancelled", output: "" };
  let proc: ReturnType<typeof Bun.spawn>;
  try {
    proc = Bun.spawn(["/bin/sh", "-c", hook.command], {
      env: { ...environment(), ...vars },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
  } catch (e) {
    return { ok: false, outcome: `cannot start: ${(e as Error).message}`, output: "" };
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill("SIGKILL");
  }, hook.timeoutSeconds * 1000);
  const onAbort = () => proc.kill("SIGKILL");
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    const [out, err, code] = await Promise.all([
      readTail(proc.stdout as ReadableStream<Uint8Array>),
      readTail(proc.stderr as ReadableStream<Uint8Array>),
      proc.exited,
    ]);
    const output = `${out}${err}`.slice(-OUTPUT_TAIL).trim();
    if (timedOut) return { ok: false, outcome: `timed out after ${hook.timeoutSeconds} s`, output };
    if (signal.aborted) return { ok: false, outcome: "cancelled", output };
    return { ok: code === 0, outcome: `exit ${code}`, output };
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", onAbort);
  }
}
