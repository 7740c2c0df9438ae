import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const bunPath = join(root, "node_modules", ".bin", "bun");
export const mainPath = join(root, "src", "main.ts");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  stdin?: string;
  timeoutMs?: number;
  /**
   * Run as a real child process (`bun src/main.ts ARGS`). Default: in-process through runCli with
   * captured output, which is what coverage can see; commands behave the same either way because
   * they only touch the world through CliIo. Use a process for signals, kills, cwd and stdin.
   */
  process?: boolean;
  /** Run this executable (the compiled binary: test/helpers/binary.ts) instead of the source. */
  binary?: string;
}

function mergedEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string | undefined> = { ...process.env, ...extra };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  return env as Record<string, string>;
}

/** Runs `backapp ARGS` and collects its exit code and output. */
export async function runBackapp(args: string[], options: RunOptions = {}): Promise<CliResult> {
  const needsProcess =
    options.process ||
    options.binary !== undefined ||
    options.cwd !== undefined ||
    options.stdin !== undefined ||
    args[0] === "serve";
  return needsProcess ? runProcess(args, options) : runInProcess(args, options);
}

async function runInProcess(args: string[], options: RunOptions): Promise<CliResult> {
  const { runCli } = await import("../../src/cli/index.ts");
  const { PassThrough } = await import("node:stream");
  let stdout = "";
  let stderr = "";
  const binary = new PassThrough();
  const chunks: Buffer[] = [];
  binary.on("data", (c: Buffer) => chunks.push(c));
  const code = await runCli(args, {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    stdoutStream: binary,
    env: mergedEnv(options.env),
    isTTY: false,
  });
  binary.end();
  if (chunks.length > 0) stdout += Buffer.concat(chunks).toString("utf8");
  return { code, stdout, stderr };
}

/** Runs `backapp ARGS` as a real child process: from source, or options.binary. */
export async function runProcess(args: string[], options: RunOptions = {}): Promise<CliResult> {
  const command = options.binary ? [options.binary] : [bunPath, mainPath];
  const proc = Bun.spawn([...command, ...args], {
    env: mergedEnv(options.env),
    cwd: options.cwd,
    stdin: options.stdin === undefined ? "ignore" : new TextEncoder().encode(options.stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), options.timeoutMs ?? 60_000);
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** Starts `backapp serve` as a child process; resolves once it logged its URL. */
export async function spawnServer(args: string[], env: Record<string, string | undefined> = {}) {
  const proc = Bun.spawn([bunPath, mainPath, "serve", "--listen", "127.0.0.1:0", ...args], {
    env: { ...process.env, ...env } as Record<string, string>,
    stdout: "pipe",
    stderr: "pipe",
  });
  const reader = proc.stdout.getReader();
  let buffered = "";
  const lines: string[] = [];
  const decoder = new TextDecoder();
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += decoder.decode(value, { stream: true });
    const parts = buffered.split("\n");
    buffered = parts.pop() ?? "";
    lines.push(...parts);
    const listening = lines.map((l) => safeJson(l)).find((l) => l?.msg === "backapp listening");
    if (listening) {
      // Keep draining stdout so the child never blocks on a full pipe.
      const rest = (async () => {
        for (;;) {
          const r = await reader.read();
          if (r.done) return;
          lines.push(...decoder.decode(r.value).split("\n"));
        }
      })();
      return { proc, url: String(listening.url), lines, drained: rest };
    }
  }
  proc.kill("SIGKILL");
  throw new Error(`server did not start: ${lines.join("\n")} ${await new Response(proc.stderr).text()}`);
}

function safeJson(line: string): Record<string, unknown> | null {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return null;
  }
}
