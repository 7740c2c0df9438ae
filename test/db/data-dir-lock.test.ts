import { existsSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DataDirLockedError, lockDataDir } from "../../src/db/data-dir-lock.ts";
import { tempDir } from "../helpers/temp.ts";

const dirs: { cleanup(): void }[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});
function dir() {
  const d = tempDir();
  dirs.push(d);
  return d.path;
}

describe("lockDataDir", () => {
  it("refuses a second holder and frees on release", () => {
    const d = dir();
    const lock = lockDataDir(d);
    expect(() => lockDataDir(d)).toThrow(DataDirLockedError);
    expect(() => lockDataDir(d)).toThrow(/another backapp server \(pid \d+/);
    lock.release();
    expect(existsSync(join(d, "server.lock"))).toBe(false);
    lockDataDir(d).release();
  });

  it("takes over a lock whose process is gone", () => {
    const d = dir();
    const dead = Bun.spawnSync(["true"]).pid;
    writeFileSync(
      join(d, "server.lock"),
      JSON.stringify({ pid: dead, hostname: hostname(), startedAt: "x" }),
    );
    const lock = lockDataDir(d);
    lock.release();
  });

  it("respects a lock held on another host", () => {
    const d = dir();
    writeFileSync(join(d, "server.lock"), JSON.stringify({ pid: 1, hostname: "elsewhere", startedAt: "x" }));
    expect(() => lockDataDir(d)).toThrow(/on elsewhere/);
  });

  it("replaces an unreadable lock file", () => {
    const d = dir();
    writeFileSync(join(d, "server.lock"), "");
    lockDataDir(d).release();
  });
});
