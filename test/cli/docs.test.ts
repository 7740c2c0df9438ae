/**
 * docs/cli.md, the README's usage block and each command's --help describe the same flags: the
 * synopsis lines are checked against the usage text every command prints.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { commands } from "../../src/cli/commands.ts";
import { REPO_FLAGS } from "../../src/cli/repo/options.ts";

const root = join(import.meta.dirname, "..", "..");
const docs = readFileSync(join(root, "docs", "cli.md"), "utf8");
const readmeText = readFileSync(join(root, "README.md"), "utf8");
/** The README's usage block (its examples further down are not synopses). */
const readme = readmeText.slice(
  readmeText.indexOf("## Usage"),
  readmeText.indexOf("```", readmeText.indexOf("## Usage") + 12),
);
const REPO = new Set(Object.keys(REPO_FLAGS).map((f) => `--${f}`));
const NOT_IN_CLI_MD = new Set(["serve", "setup-token", "user"]);

const flagsOf = (text: string) => new Set(text.match(/--[a-z][a-z0-9-]*/g) ?? []);
const synopsis = (text: string, name: string) =>
  text
    .split("\n")
    .filter((l) => l.startsWith(`backapp ${name} `) || l.startsWith(`backapp ${name.padEnd(9)} `));

describe("docs agree with the commands", () => {
  for (const entry of commands.filter((c) => !NOT_IN_CLI_MD.has(c.name))) {
    it(`${entry.name}: docs/cli.md and the README list exactly the flags of --help`, async () => {
      const command = await entry.load();
      const own = [...flagsOf(command.usage)].filter((f) => !REPO.has(f)).sort();
      const lines = synopsis(docs, entry.name);
      expect(lines.length, `no synopsis line for ${entry.name} in docs/cli.md`).toBeGreaterThan(0);
      const documented = [...flagsOf(lines.join(" "))].filter((f) => f !== "--repo").sort();
      expect(documented).toEqual(own);
      expect(synopsis(readme, entry.name)).toEqual(lines);
    });
  }

  it("every repository flag and its environment variables are in docs/cli.md", async () => {
    for (const flag of REPO) expect(docs).toContain(`\`${flag}`);
    for (const env of [
      "BACKAPP_PASSWORD_FILE",
      "BACKAPP_PASSWORD_COMMAND",
      "AWS_ENDPOINT_URL_S3",
      "BACKAPP_REPO",
    ]) {
      expect(docs).toContain(env);
    }
  });
});
