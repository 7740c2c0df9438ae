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

/** Runs `backapp ARGS` from source as a real child process. */
export async function runBackapp(
  args: string[],
  options: {
    env?: Record<string, string | undefined>;
    cwd?: string;
    stdin?: string;
    timeoutMs?: number;
  } = {},
): Promise<CliResult> {
  const proc = Bun.spawn([bunPath, mainPath, ...args], {
    env: { ...process.env, ...options.env } as Record<string, string>,
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
