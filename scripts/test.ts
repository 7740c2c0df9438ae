/**
 * `npm test`: every check in one command, failing fast on the first that fails —
 * embedded-files generation, type-check, lint/format, vitest (on Bun, with coverage ≥ 85% lines of
 * src/), then Playwright end-to-end tests in Debian's Chromium. Ends with one "N passed, N failed" line.
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ensureTestTools, ToolError } from "./test-tools.ts";

const root = join(import.meta.dir, "..");
const bin = (name: string) => join(root, "node_modules", ".bin", name);

function run(title: string, cmd: string[]): boolean {
  console.log(`\n== ${title}: ${cmd.map((c) => c.replace(`${root}/`, "")).join(" ")}`);
  const r = Bun.spawnSync(cmd, { cwd: root, stdout: "inherit", stderr: "inherit", env: process.env });
  return r.exitCode === 0;
}

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

function vitestCounts(file: string): Counts {
  if (!existsSync(file)) return { passed: 0, failed: 0, skipped: 0 };
  const r = JSON.parse(readFileSync(file, "utf8")) as {
    numPassedTests: number;
    numFailedTests: number;
    numPendingTests: number;
    numTodoTests: number;
  };
  return { passed: r.numPassedTests, failed: r.numFailedTests, skipped: r.numPendingTests + r.numTodoTests };
}

function playwrightCounts(file: string): Counts {
  if (!existsSync(file)) return { passed: 0, failed: 0, skipped: 0 };
  const r = JSON.parse(readFileSync(file, "utf8")) as {
    stats: { expected: number; unexpected: number; flaky: number; skipped: number };
  };
  return { passed: r.stats.expected + r.stats.flaky, failed: r.stats.unexpected, skipped: r.stats.skipped };
}

const steps: [string, string[]][] = [
  ["embedded files", [bin("bun"), "scripts/gen-embedded.ts"]],
  ["type-check", [bin("tsc"), "--noEmit", "-p", "."]],
  ["lint and format", [bin("biome"), "check", "."]],
  [
    "unit and integration tests",
    [
      bin("bun"),
      "--bun",
      bin("vitest"),
      "run",
      "--coverage",
      "--reporter=default",
      "--reporter=json",
      "--outputFile.json=.tmp/test-report/vitest.json",
    ],
  ],
  ["end-to-end tests", [bin("playwright"), "test"]],
];

try {
  // Playwright (playwright.config.ts) launches CHROMIUM_PATH.
  process.env.CHROMIUM_PATH = ensureTestTools(process.env, process.getuid?.() ?? -1, (l) => console.log(l));
} catch (error) {
  if (!(error instanceof ToolError)) throw error;
  console.error(`npm test: ${error.message}`);
  process.exit(1);
}

// Reports from an earlier run must not be counted as this one.
rmSync(join(root, ".tmp/test-report"), { recursive: true, force: true });

let ok = true;
for (const [title, cmd] of steps) {
  if (!run(title, cmd)) {
    console.error(`\n${title} failed`);
    ok = false;
    break;
  }
}
const v = vitestCounts(join(root, ".tmp/test-report/vitest.json"));
const p = playwrightCounts(join(root, ".tmp/test-report/e2e.json"));
const total = { passed: v.passed + p.passed, failed: v.failed + p.failed, skipped: v.skipped + p.skipped };
if (!ok && total.failed === 0) total.failed = 1; // a failed check that is not a test still fails the run
console.log(
  `\n${total.passed} passed, ${total.failed} failed${total.skipped ? `, ${total.skipped} skipped` : ""}`,
);
process.exit(ok ? 0 : 1);
