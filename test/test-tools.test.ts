/** How `npm test` finds its browser and tools, and what it does when they are missing. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { findChromium, installPlan, playwrightCacheDir, ToolError } from "../scripts/test-tools.ts";
import { tempDir } from "./helpers/temp.ts";

const root = join(import.meta.dirname, "..");
const dirs: { path: string; cleanup(): void }[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});

function tmp(): string {
  const d = tempDir();
  dirs.push(d);
  return d.path;
}

function executable(file: string): string {
  mkdirSync(join(file, ".."), { recursive: true });
  writeFileSync(file, "#!/bin/sh\n", { mode: 0o755 });
  return file;
}

describe("finding a Chromium", () => {
  it("takes CHROMIUM_PATH when it is executable, and fails when it is not rather than look elsewhere", () => {
    const dir = tmp();
    const chrome = executable(join(dir, "my-chrome"));
    expect(findChromium({ CHROMIUM_PATH: chrome }, [])).toBe(chrome);
    expect(() => findChromium({ CHROMIUM_PATH: join(dir, "nope") }, [chrome])).toThrow(ToolError);
  });

  it("then the system path, then the newest build in Playwright's cache", () => {
    const dir = tmp();
    const system = executable(join(dir, "usr-bin-chromium"));
    const cache = join(dir, "ms-playwright");
    executable(join(cache, "chromium-1100", "chrome-linux", "chrome"));
    const newest = executable(join(cache, "chromium-1200", "chrome-linux64", "chrome"));
    expect(findChromium({ PLAYWRIGHT_BROWSERS_PATH: cache }, [system])).toBe(system);
    expect(findChromium({ PLAYWRIGHT_BROWSERS_PATH: cache }, [join(dir, "absent")])).toBe(newest);
    expect(findChromium({ PLAYWRIGHT_BROWSERS_PATH: join(dir, "empty") }, [join(dir, "absent")])).toBe(
      undefined,
    );
    expect(playwrightCacheDir({}, "linux", "/home/u")).toBe("/home/u/.cache/ms-playwright");
    expect(playwrightCacheDir({}, "darwin", "/Users/u")).toBe("/Users/u/Library/Caches/ms-playwright");
  });
});

describe("missing tools", () => {
  it("are installed with apt-get only as root where apt-get exists", () => {
    const dir = tmp();
    const apt = join(dir, "bin");
    executable(join(apt, "apt-get"));
    expect(installPlan(["chromium"], { PATH: apt }, 0)).toEqual({
      command: ["apt-get", "install", "-y", "chromium"],
      auto: true,
    });
    expect(installPlan(["chromium"], { PATH: apt }, 1000).auto).toBe(false);
    expect(installPlan(["chromium"], { PATH: join(dir, "nothing") }, 0).auto).toBe(false);
  });

  it("stop the test command at once, with the exact command, when it cannot install them", () => {
    const dir = tmp();
    const r = Bun.spawnSync(["node_modules/.bin/bun", "scripts/test.ts"], {
      cwd: root,
      // No apt-get, no shellcheck, no systemd-analyze on this PATH, and no browser where it points.
      env: {
        PATH: join(dir, "bin"),
        HOME: dir,
        CHROMIUM_PATH: "",
        PLAYWRIGHT_BROWSERS_PATH: join(dir, "pw"),
      },
    });
    const err = r.stderr.toString();
    expect(r.exitCode).toBe(1);
    expect(err).toContain("npm test: missing for");
    expect(err).toContain("sudo apt-get update && sudo apt-get install -y");
    expect(err).toContain("shellcheck systemd");
    // It stopped before the first check: nothing else ran.
    expect(r.stdout.toString()).not.toContain("== embedded files");
  });
});
