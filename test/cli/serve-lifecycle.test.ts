/**
 * `backapp serve` as a real process: draining on the first signal, forcing on the second, the
 * lock after a SIGKILL, port conflicts, and start-up refusals that print one line and no stack.
 */
import { Database } from "bun:sqlite";
import { existsSync, mkdirSync, realpathSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { bunPath, mainPath, runBackapp, spawnServer } from "../helpers/cli.ts";
import { tempDir } from "../helpers/temp.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanups.splice(0)) f();
});
function dir() {
  const d = tempDir();
  cleanups.push(d.cleanup);
  return d.path;
}

/** Starts a POST whose body never completes until `finish` is called. */
function slowRequest(url: string) {
  const { hostname, port } = new URL(url);
  const socket: Socket = connect(Number(port), hostname);
  cleanups.push(() => socket.destroy());
  let response = "";
  socket.on("data", (d) => {
    response += d.toString();
  });
  socket.on("error", () => {});
  const body = JSON.stringify({ email: "nobody@example.com", password: "not the password at all" });
  socket.write(
    `POST /api/auth/login HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nOrigin: ${url}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.slice(0, 5)}`,
  );
  const closed = new Promise<string>((resolve) => socket.on("close", () => resolve(response)));
  return { finish: () => socket.write(body.slice(5)), closed };
}

async function waitForLine(lines: string[], text: string) {
  for (let i = 0; i < 200 && !lines.some((l) => l.includes(text)); i++) await Bun.sleep(25);
  expect(lines.some((l) => l.includes(text))).toBe(true);
}

/** A server with one request in flight, sent SIGTERM and now draining. */
async function drainingServer(dataDir: string) {
  const server = await spawnServer(["--data-dir", dataDir]);
  const slow = slowRequest(server.url);
  await Bun.sleep(100);
  server.proc.kill("SIGTERM");
  await waitForLine(server.lines, "shutting down");
  return { server, slow };
}

describe("shutdown", () => {
  it("SIGTERM: refuses new connections, finishes the in-flight request, closes the database, exits 0", async () => {
    const dataDir = dir();
    const { server, slow } = await drainingServer(dataDir);
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
    slow.finish();
    expect(await slow.closed).toMatch(/^HTTP\/1\.1 401 /);
    expect(await server.proc.exited).toBe(0);
    await server.drained;
    expect(server.lines.some((l) => l.includes('"backapp stopped"'))).toBe(true);
    // The WAL was checkpointed into backapp.db and removed.
    expect(existsSync(join(dataDir, "backapp.db-wal"))).toBe(false);
  });

  it("a second signal (SIGINT after SIGTERM) cuts the stuck request and exits 1, data dir released", async () => {
    const dataDir = dir();
    const { server, slow } = await drainingServer(dataDir);
    server.proc.kill("SIGINT");
    expect(await server.proc.exited).toBe(1);
    await slow.closed;
    await server.drained;
    expect(server.lines.some((l) => l.includes("second signal"))).toBe(true);
    expect(server.lines.some((l) => l.includes('"backapp stopped"'))).toBe(true);
    const again = await spawnServer(["--data-dir", dataDir]);
    again.proc.kill("SIGINT");
    expect(await again.proc.exited).toBe(0);
  });
});

describe("start-up refusals", () => {
  it("a SIGKILLed server leaves no lock behind; a live one refuses a second on the same data dir", async () => {
    const dataDir = dir();
    const first = await spawnServer(["--data-dir", dataDir]);
    first.proc.kill("SIGKILL");
    await first.proc.exited;
    const second = await spawnServer(["--data-dir", dataDir]);
    const third = await runBackapp(["serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir]);
    expect(third.code).toBe(1);
    expect(third.stderr).toBe(
      `backapp serve: another backapp server (pid ${second.proc.pid} on ${(await import("node:os")).hostname()}, since ${third.stderr.match(/since (\S+)\)/)?.[1]}) is using ${dataDir}; stop it first or choose another --data-dir\n`,
    );
    second.proc.kill("SIGTERM");
    expect(await second.proc.exited).toBe(0);
  });

  it("a port in use is named, exit 1, and the data dir stays usable", async () => {
    const blocker = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("x") });
    cleanups.push(() => void blocker.stop(true));
    const dataDir = dir();
    const r = await runBackapp(["serve", "--listen", `127.0.0.1:${blocker.port}`, "--data-dir", dataDir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `backapp serve: cannot listen on 127.0.0.1:${blocker.port}: the address is already in use (is another server running?); choose another with --listen or BACKAPP_LISTEN\n`,
    );
    const server = await spawnServer(["--data-dir", dataDir]);
    server.proc.kill("SIGTERM");
    expect(await server.proc.exited).toBe(0);
  });

  it("a database from a newer backapp, or not a database at all: one line, exit 1, no stack", async () => {
    const newer = dir();
    const first = await spawnServer(["--data-dir", newer]);
    first.proc.kill("SIGTERM");
    await first.proc.exited;
    const db = new Database(join(newer, "backapp.db"));
    db.run("INSERT INTO schema_migrations (idx, tag, applied_at) VALUES (9999, '9999_from_the_future', 0)");
    db.close();
    const r = await runBackapp(["serve", "--listen", "127.0.0.1:0", "--data-dir", newer]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^backapp serve: the database was written by a newer backapp \(migration 9999_from_the_future/,
    );
    expect(r.stderr.trim().split("\n")).toHaveLength(1);

    const garbage = dir();
    writeFileSync(join(garbage, "backapp.db"), "this is not a database, just text ".repeat(50));
    const g = await runBackapp(["serve", "--listen", "127.0.0.1:0", "--data-dir", garbage]);
    expect(g.code).toBe(1);
    expect(g.stderr).toMatch(/^backapp serve: open database .*backapp\.db: file is not a database\n$/);
  });

  it("a data dir under a regular file or that is one: one line naming the reason", async () => {
    const file = join(dir(), "plain-file");
    writeFileSync(file, "");
    const under = await runBackapp(["serve", "--listen", "127.0.0.1:0", "--data-dir", join(file, "data")]);
    expect(under.code).toBe(1);
    expect(under.stderr).toMatch(
      /^backapp serve: data directory .*plain-file\/data is not writable \(a parent is not a directory, ENOTDIR\); choose another with --data-dir or BACKAPP_DATA_DIR\n$/,
    );
    const itself = await runBackapp(["serve", "--listen", "127.0.0.1:0", "--data-dir", file]);
    expect(itself.stderr).toMatch(/is not writable \(it exists and is not a directory/);
  });
});

describe("data dir from the environment", () => {
  it("a relative --data-dir is logged and used as an absolute path; XDG_DATA_HOME is followed", async () => {
    const cwd = dir();
    const proc = Bun.spawn([bunPath, mainPath, "serve", "--listen", "127.0.0.1:0", "--data-dir", "rel"], {
      cwd,
      stdout: "pipe",
      stderr: "inherit",
    });
    const reader = proc.stdout.getReader();
    let text = "";
    while (!text.includes("backapp listening")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
    expect(text).toContain(`"dataDir":"${join(realpathSync(cwd), "rel")}"`);

    mkdirSync(join(cwd, "xdg"));
    const server = await spawnServer([], { XDG_DATA_HOME: join(cwd, "xdg"), BACKAPP_DATA_DIR: "" });
    expect(server.lines.join("\n")).toContain(`"dataDir":"${join(cwd, "xdg", "backapp")}"`);
    server.proc.kill("SIGTERM");
    expect(await server.proc.exited).toBe(0);
    expect(existsSync(join(cwd, "xdg", "backapp", "backapp.db"))).toBe(true);
  });
});
