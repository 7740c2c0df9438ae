import { Database } from "bun:sqlite";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DataDirLockedError, lockDataDir } from "../../src/db/data-dir-lock.ts";
import { bunPath } from "../helpers/cli.ts";
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

const lockModule = join(import.meta.dirname, "../../src/db/data-dir-lock.ts");

/** A separate process that takes the lock and keeps it until killed. */
async function holdInChild(dataDir: string) {
  const script = `import { lockDataDir } from ${JSON.stringify(lockModule)};
lockDataDir(${JSON.stringify(dataDir)}); Bun.gc(true); console.log("held"); setInterval(() => {}, 1000);`;
  const proc = Bun.spawn([bunPath, "-e", script], { stdout: "pipe", stderr: "inherit" });
  const reader = proc.stdout.getReader();
  const { value } = await reader.read();
  expect(new TextDecoder().decode(value)).toContain("held");
  return proc;
}

describe("lockDataDir", () => {
  it("refuses a second holder in the same process and frees on release", () => {
    const d = dir();
    const lock = lockDataDir(d);
    expect(() => lockDataDir(d)).toThrow(DataDirLockedError);
    expect(() => lockDataDir(d)).toThrow(
      new RegExp(`another backapp server \\(pid ${process.pid} on .+, since \\d{4}-`),
    );
    lock.release();
    lock.release(); // twice is harmless
    lockDataDir(d).release();
  });

  it("refuses a second process, and is free again once the holder is SIGKILLed", async () => {
    const d = dir();
    const child = await holdInChild(d);
    try {
      expect(() => lockDataDir(d)).toThrow(new RegExp(`pid ${child.pid} `));
    } finally {
      child.kill("SIGKILL");
      await child.exited;
    }
    // The kernel dropped the dead process's lock: no stale-lock cleanup needed.
    expect(existsSync(join(d, "server.lock"))).toBe(true);
    lockDataDir(d).release();
  });

  it("is not fooled by a recorded pid that is alive but holds nothing (pid reuse)", () => {
    const d = dir();
    const db = new Database(join(d, "server.lock"), { create: true });
    db.run("CREATE TABLE holder (pid INTEGER NOT NULL, hostname TEXT NOT NULL, started_at TEXT NOT NULL)");
    db.run("INSERT INTO holder VALUES (?, 'here', 'x')", [process.pid]);
    db.close();
    lockDataDir(d).release();
  });

  it("replaces a lock file left by an older backapp, and an empty one", () => {
    const d = dir();
    writeFileSync(join(d, "server.lock"), JSON.stringify({ pid: 1, hostname: "h", startedAt: "x" }));
    lockDataDir(d).release();
    writeFileSync(join(d, "server.lock"), "");
    lockDataDir(d).release();
  });
});
