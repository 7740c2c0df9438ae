import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bunPath, mainPath, runBackapp } from "../../helpers/cli.ts";
import { randomBytesSeeded } from "../upkeep/fixtures.ts";
import { backapp, workspace, writeFiles } from "./fixtures.ts";

describe("locks", () => {
  it("a blocked command learns what holds the lock and who, even without $USER; --retry-lock waits for it", async () => {
    const w = await workspace();
    writeFiles(w.src, { "big.bin": randomBytesSeeded(16 * 1024 * 1024, 3) });
    const env = { ...process.env, ...w.repo.env } as Record<string, string>;
    delete env.USER;
    delete env.LOGNAME;
    const holder = Bun.spawn([bunPath, mainPath, "backup", "--limit-upload", "256", w.src], {
      env,
      stdout: "ignore",
      stderr: "pipe",
    });
    const locks = join(w.repo.address, "locks");
    while ((!existsSync(locks) || readdirSync(locks).length === 0) && holder.exitCode === null) {
      await Bun.sleep(50);
    }
    const blocked = await backapp(w.repo, ["prune"]);
    expect(blocked.code).toBe(1);
    expect(blocked.stderr).toMatch(/repository is locked: a shared lock \(backup\) by [^@?\s]+@/);
    expect(blocked.stderr).toContain("retry with --retry-lock");
    expect(blocked.stderr.split("\n")).toHaveLength(2);

    const waiting = runBackapp(["prune", "--retry-lock", "5m"], {
      env: w.repo.env,
      process: true,
      timeoutMs: 280_000,
    });
    holder.kill("SIGINT");
    expect(await holder.exited).toBe(1);
    const pruned = await waiting;
    expect(pruned.code, pruned.stderr).toBe(0);
  }, 300_000);

  it("--retry-lock needs a duration", async () => {
    const w = await workspace();
    const r = await backapp(w.repo, ["snapshots", "--retry-lock", "soon"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('flag --retry-lock needs a duration such as 30s, 5m or 1h30m, got "soon"');
  });
});
