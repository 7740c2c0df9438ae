/**
 * End-to-end tests in Debian's Chromium (/usr/bin/chromium; no browser download). The real server
 * is started from source on a free loopback port with a fresh data dir, exposed to specs as
 * BACKAPP_E2E_URL and BACKAPP_E2E_DATA_DIR.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineConfig } from "@playwright/test";

function freePort(): number {
  const script =
    "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})";
  return Number(execFileSync(process.execPath, ["-e", script]).toString().trim());
}

// The config is evaluated in the runner and again in each worker: compute once, share via env.
process.env.BACKAPP_E2E_PORT ??= String(freePort());
process.env.BACKAPP_E2E_DATA_DIR ??= mkdtempSync(join(tmpdir(), "backapp-e2e-"));
const port = Number(process.env.BACKAPP_E2E_PORT);
const dataDir = process.env.BACKAPP_E2E_DATA_DIR;
process.env.BACKAPP_E2E_URL = `http://127.0.0.1:${port}`;

export default defineConfig({
  testDir: "test/e2e",
  testMatch: "**/*.spec.ts",
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 60_000,
  forbidOnly: true,
  reporter: [["list"], ["json", { outputFile: ".tmp/test-report/e2e.json" }]],
  use: {
    baseURL: process.env.BACKAPP_E2E_URL,
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    },
  },
  webServer: {
    command: `node_modules/.bin/bun src/main.ts serve --listen 127.0.0.1:${port} --data-dir ${dataDir} --log-level warn`,
    url: `http://127.0.0.1:${port}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: "ignore",
    stderr: "pipe",
  },
});
