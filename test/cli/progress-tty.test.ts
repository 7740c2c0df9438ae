/**
 * The backup progress line on a real terminal: `backapp backup` runs as a child inside a pseudo
 * terminal (util-linux `script`), uploads throttled so the run lasts a few seconds. On the TTY it
 * redraws one line in place (carriage return + erase) with percent, files, bytes, rate, ETA and the
 * current path, and clears it before the summary; through a pipe it prints no progress at all.
 */

import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runBackapp } from "../helpers/cli.ts";
import { build, file } from "../helpers/fs-tree.ts";
import { tempDir } from "../helpers/temp.ts";

const work = tempDir("backapp-tty-");
const repo = join(work.path, "repo");
const src = join(work.path, "src");
const env = { BACKAPP_PASSWORD: "a long repository passphrase for tests", COLUMNS: "160" };
const root = join(import.meta.dirname, "..", "..");

beforeAll(async () => {
  const files: Record<string, ReturnType<typeof file>> = {};
  for (let i = 0; i < 24; i++) files[`part-${i}.bin`] = file(randomBytes(1024 * 1024));
  build(src, files);
  expect((await runBackapp(["init", "--repo", repo], { env })).code).toBe(0);
}, 180_000);

afterAll(() => work.cleanup());

describe("backup progress on a terminal", () => {
  it("redraws one status line in place on a TTY and stays quiet through a pipe", async () => {
    const cmd = `node_modules/.bin/bun src/main.ts backup --repo ${repo} --limit-upload 6000 ${src}`;
    const tty = spawnSync("script", ["-qefc", cmd, "/dev/null"], {
      cwd: root,
      env: { ...process.env, ...env },
      encoding: "utf8",
      timeout: 120_000,
    });
    expect(tty.status).toBe(0);
    const out = tty.stdout;
    const redraws = out.split("\r\x1b[K").slice(1);
    expect(redraws.length).toBeGreaterThanOrEqual(2);
    const lines = redraws.map((r) => r.split(/\r?\n/)[0] ?? "").filter((l) => l.includes("files"));
    expect(lines.length).toBeGreaterThanOrEqual(1);
    const withTotals = lines.find((l) => /\d+% \d+\/24 files/.test(l));
    expect(withTotals).toMatch(
      /^\[\d+s\]\s+\d+% \d+\/24 files\s+[\d.]+ (B|KiB|MiB)\/24\.0 MiB\s+[\d.]+ (B|KiB|MiB)\/s/,
    );
    expect(out).toMatch(/snapshot [0-9a-f]{8} saved/);

    const piped = await runBackapp(["backup", "--repo", repo, src], { env, process: true });
    expect(piped.code).toBe(0);
    expect(piped.stdout).not.toContain("\r");
    expect(piped.stdout).not.toMatch(/ETA|files {2}/);
    expect(piped.stderr).toBe("");
  }, 180_000);
});
