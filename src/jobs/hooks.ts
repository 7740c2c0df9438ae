/**
 * Pre and post hooks of a job (admin-only commands): run through /bin/sh with a timeout and the
 * run described in BACKAPP_* environment variables. Each hook gets its own process group, so a
 * timeout or cancel kills what the shell started too (a `sleep` would otherwise hold the pipes
 * open). Output is kept short (its tail) for the log.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { environment } from "../config/index.ts";
import type { HookSpec } from "../db/backup-configs.ts";

export interface HookResult {
  ok: boolean;
  /** "exit 3", "timed out after 30 s", "cancelled", "cannot start: ..." */
  outcome: string;
  /** Last characters of stdout and stderr together. */
  output: string;
}

const OUTPUT_TAIL = 2000;

function killGroup(proc: ChildProcess): void {
  try {
    if (proc.pid) process.kill(-proc.pid, "SIGKILL");
  } catch {
    proc.kill("SIGKILL");
  }
}

/** Runs a hook; never throws. A cancelled `signal` kills it. */
export function runHook(
  hook: HookSpec,
  vars: Record<string, string>,
  signal: AbortSignal,
): Promise<HookResult> {
  if (signal.aborted) return Promise.resolve({ ok: false, outcome: "cancelled", output: "" });
  return new Promise((resolve) => {
    let output = "";
    let timedOut = false;
    const proc = spawn("/bin/sh", ["-c", hook.command], {
      env: { ...environment(), ...vars },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString("utf8")).slice(-OUTPUT_TAIL);
    };
    proc.stdout?.on("data", keep);
    proc.stderr?.on("data", keep);
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(proc);
    }, hook.timeoutSeconds * 1000);
    const onAbort = () => killGroup(proc);
    signal.addEventListener("abort", onAbort, { once: true });
    const finish = (result: HookResult) => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      resolve(result);
    };
    proc.on("error", (e) => finish({ ok: false, outcome: `cannot start: ${e.message}`, output: "" }));
    // Output may still be in the pipes at "exit"; "close" waits for it, but a grandchild holding
    // the pipes must not keep the run waiting: at most a moment after the shell exits.
    let exited: { code: number | null; sig: NodeJS.Signals | null } | null = null;
    let settled = false;
    const done = () => {
      if (settled || !exited) return;
      settled = true;
      const { code, sig } = exited;
      const text = output.trim();
      if (timedOut)
        return finish({ ok: false, outcome: `timed out after ${hook.timeoutSeconds} s`, output: text });
      if (signal.aborted) return finish({ ok: false, outcome: "cancelled", output: text });
      finish({ ok: code === 0, outcome: code === null ? `killed by ${sig}` : `exit ${code}`, output: text });
    };
    proc.on("exit", (code, sig) => {
      exited = { code, sig };
      setTimeout(done, 200);
    });
    proc.on("close", done);
  });
}
