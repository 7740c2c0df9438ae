/**
 * A real backapp server of a spec's own (its own data dir and port, extra environment), for specs
 * that need settings the shared e2e server does not have. `stop()` ends it and removes the data dir.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const BUN = "node_modules/.bin/bun";

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitHealthy(url: string) {
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
  /** The first-run setup token of this server's data dir. */
  setupToken(): string;
  stop(): Promise<void>;
}

export async function startOwnServer(name: string, env: Record<string, string> = {}): Promise<OwnServer> {
  const dataDir = mkdtempSync(join(tmpdir(), `backapp-e2e-${name}-`));
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
      if (server.exitCode === null && server.signalCode === null) {
        const exited = new Promise((r) => server.once("exit", r));
        server.kill("SIGTERM");
        await exited;
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
