/**
 * A server of a spec's own (from source, fresh data dir, free loopback port, extra environment),
 * for specs that need settings the shared e2e server does not have.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const BUN = "node_modules/.bin/bun";

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export async function waitHealthy(url: string) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not come up`);
}

export interface OwnServer {
  base: string;
  dataDir: string;
  setupToken(): string;
  stop(): Promise<void>;
}

export async function startOwnServer(prefix: string, env: Record<string, string> = {}): Promise<OwnServer> {
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server: ChildProcess = spawn(
    BUN,
    ["src/main.ts", "serve", "--listen", `127.0.0.1:${port}`, "--data-dir", dataDir, "--log-level", "warn"],
    { env: { ...process.env, ...env }, stdio: "ignore" },
  );
  await waitHealthy(base);
  return {
    base,
    dataDir,
    setupToken: () =>
      execFileSync(BUN, ["src/main.ts", "setup-token", "--data-dir", dataDir]).toString().trim(),
    async stop() {
      server.kill("SIGTERM");
      await new Promise((r) => server.once("exit", r));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
