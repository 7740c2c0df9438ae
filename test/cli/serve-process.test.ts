import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runBackapp, spawnServer } from "../helpers/cli.ts";
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

describe("backapp serve as a process", () => {
  it("starts, answers /healthz, refuses a second server, stops cleanly on SIGTERM", async () => {
    const dataDir = dir();
    const server = await spawnServer(["--data-dir", dataDir]);
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);

    const second = await runBackapp(["serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir]);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/^backapp serve: another backapp server \(pid \d+/);

    server.proc.kill("SIGTERM");
    expect(await server.proc.exited).toBe(0);
    await server.drained;
    expect(server.lines.some((l) => l.includes('"backapp stopped"'))).toBe(true);
  });

  it("reads BACKAPP_DATA_DIR and BACKAPP_LISTEN", async () => {
    const dataDir = dir();
    const server = await spawnServer([], { BACKAPP_DATA_DIR: dataDir, BACKAPP_LISTEN: "127.0.0.1:0" });
    expect(server.lines.join("\n")).toContain(dataDir);
    server.proc.kill("SIGINT");
    expect(await server.proc.exited).toBe(0);
  });

  it("refuses an unwritable data dir with a one-line message", async () => {
    const file = join(dir(), "file");
    writeFileSync(file, "");
    const r = await runBackapp(["serve", "--data-dir", join(file, "sub")]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("is not writable");
  });

  it("rejects bad flags with exit 2", async () => {
    const r = await runBackapp(["serve", "--port", "1"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown flag --port");
    const u = await runBackapp(["nonsense"]);
    expect(u.code).toBe(2);
  });
});
