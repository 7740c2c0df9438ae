import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bunPath, mainPath } from "../../helpers/cli.ts";
import { randomBytesSeeded } from "../upkeep/fixtures.ts";
import { workspace, writeFiles } from "./fixtures.ts";

function tempFiles(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, encoding: "utf8" }).filter((p) =>
    p.split("/").at(-1)!.startsWith(".tmp-"),
  );
}

describe("a cancelled backup", () => {
  it("removes the partial pack it was writing (no .tmp-* left in the repository)", async () => {
    const w = await workspace();
    writeFiles(w.src, { "big.bin": randomBytesSeeded(24 * 1024 * 1024, 7) });
    // A slow upload keeps the first pack's temporary file open long enough to interrupt it.
    const proc = Bun.spawn([bunPath, mainPath, "backup", "--limit-upload", "512", w.src], {
      env: { ...process.env, ...w.repo.env },
      stdout: "pipe",
      stderr: "pipe",
    });
    const data = join(w.repo.address, "data");
    while (tempFiles(data).length === 0 && proc.exitCode === null) await Bun.sleep(50);
    expect(tempFiles(data).length).toBeGreaterThan(0);
    proc.kill("SIGINT");
    const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
    expect(stderr).toContain("cancelled");
    expect(code).toBe(1);
    expect(tempFiles(w.repo.address)).toEqual([]);
  }, 180_000);
});
