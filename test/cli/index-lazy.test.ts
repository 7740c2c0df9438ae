/**
 * Commands load on demand: `--version` and `--help` load no command, a repository command never
 * loads the web server or the database, and `serve` never loads the backup, restore or prune pipelines.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { commands } from "../../src/cli/commands.ts";
import { bunPath } from "../helpers/cli.ts";

const indexPath = join(import.meta.dirname, "../../src/cli/index.ts");

/** Runs argv through runCli in a fresh process; returns the modules it loaded and the exit code. */
function loadedBy(argv: string[]): { code: number; modules: string[] } {
  const script = `const { runCli } = await import(${JSON.stringify(indexPath)});
const code = await runCli(${JSON.stringify(argv)}, { stdout() {}, stderr() {}, env: {}, isTTY: false, stdoutStream: process.stdout });
console.log(JSON.stringify({ code, modules: Object.keys(require.cache) }));`;
  const r = Bun.spawnSync([bunPath, "-e", script], { stderr: "pipe" });
  const out = r.stdout.toString().trim().split("\n").pop() ?? "";
  if (!out.startsWith("{")) throw new Error(`no result: ${out} ${r.stderr.toString()}`);
  return JSON.parse(out) as { code: number; modules: string[] };
}

const HEAVY =
  /node_modules\/(hono|drizzle-orm|pino|@aws-sdk|eta|zod|croner|minimatch)\/|\/src\/(web|db|engine|storage|auth|server)/;

describe("lazy command loading", () => {
  it("lists every command with the summary the command itself declares", async () => {
    expect(new Set(commands.map((c) => c.name)).size).toBe(commands.length);
    for (const entry of commands) {
      const command = await entry.load();
      expect(command.name).toBe(entry.name);
      expect(command.summary).toBe(entry.summary);
    }
  });

  it("--version and --help load no command and none of the heavy modules", () => {
    for (const argv of [["--version"], ["--help"], ["help"], ["nonsense"]]) {
      const { modules } = loadedBy(argv);
      expect(
        modules.filter((m) => HEAVY.test(m)),
        argv.join(" "),
      ).toEqual([]);
      expect(
        modules.filter((m) => /\/src\/cli\/(?!index|args|commands|suggest)/.test(m)),
        argv.join(" "),
      ).toEqual([]);
    }
  });

  it("a repository command never loads the web server or the database; serve never loads the backup, restore or prune pipelines", () => {
    const snapshots = loadedBy(["snapshots", "--help"]);
    expect(snapshots.code).toBe(0);
    expect(snapshots.modules.some((m) => m.endsWith("/src/cli/snapshots.ts"))).toBe(true);
    expect(
      snapshots.modules.filter((m) =>
        /\/src\/(web|db|server)|node_modules\/(hono|drizzle-orm|pino)\//.test(m),
      ),
    ).toEqual([]);
    const serve = loadedBy(["serve", "--help"]);
    expect(serve.code).toBe(0);
    // The server opens repositories itself (destinations, browsing) but backups, restores and
    // prunes run in child processes (src/jobs/run-child.ts): their pipelines are not loaded.
    expect(serve.modules.filter((m) => /\/src\/engine\/(backup|restore|prune)[./]/.test(m))).toEqual([]);
  });
});
