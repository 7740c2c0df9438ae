/** startServer in-process: stop semantics, clean-up after failed starts, wildcard addresses. */
import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { DataDirLockedError } from "../../src/db/data-dir-lock.ts";
import { ListenError, type RunningServer, startServer } from "../../src/server.ts";
import { createLogger } from "../../src/util/logger.ts";
import { tempDir } from "../helpers/temp.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

function start(dataDir: string, host = "127.0.0.1", port = 0) {
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger("info", { write: (l: string) => void logs.push(JSON.parse(l)) });
  return startServer({ host, port, dataDir, logLevel: "info" }, logger).then((server) => {
    cleanups.push(() => server.stop({ graceMs: 0 }));
    return { server, logs };
  });
}

function dir(): string {
  const d = tempDir();
  cleanups.push(d.cleanup);
  return d.path;
}

/** A request whose body never arrives: in flight until the server cuts it. */
function stuckRequest(server: RunningServer) {
  const socket = connect(server.port, "127.0.0.1");
  socket.on("error", () => {});
  socket.write(
    "POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{",
  );
  cleanups.push(() => socket.destroy());
  return new Promise<void>((resolve) => socket.on("close", () => resolve()));
}

describe("startServer", () => {
  it("refuses a second server on the same data dir in the same process, and frees it on stop", async () => {
    const d = dir();
    const { server } = await start(d);
    await expect(start(d)).rejects.toThrow(DataDirLockedError);
    await server.stop();
    const again = await start(d);
    expect((await fetch(`${again.server.url}/healthz`)).status).toBe(200);
  });

  it("a port in use fails with ListenError and releases the data dir and database", async () => {
    const blocker = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("x") });
    cleanups.push(() => blocker.stop(true));
    const d = dir();
    await expect(start(d, "127.0.0.1", blocker.port)).rejects.toThrow(ListenError);
    await expect(start(d, "127.0.0.1", blocker.port)).rejects.toThrow(
      `cannot listen on 127.0.0.1:${blocker.port}: the address is already in use`,
    );
    const { server } = await start(d);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it("stop({ graceMs: 0 }) cuts a stuck request at once; later calls resolve the same way", async () => {
    const { server, logs } = await start(dir());
    const closed = stuckRequest(server);
    await Bun.sleep(50);
    await server.stop({ graceMs: 0 });
    await closed;
    await server.stop();
    expect(logs.filter((l) => l.msg === "backapp stopped")).toHaveLength(1);
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });

  it("a graceful stop waits for the stuck request until its grace runs out", async () => {
    const { server, logs } = await start(dir());
    const closed = stuckRequest(server);
    await Bun.sleep(50);
    let stopped = false;
    const stopping = server.stop({ graceMs: 1_000 }).then(() => {
      stopped = true;
    });
    await Bun.sleep(100);
    expect(stopped).toBe(false);
    await stopping;
    await closed;
    expect(logs.some((l) => l.msg === "backapp stopped")).toBe(true);
  });

  it("on all interfaces, links use the loopback address and the operator is told to set BACKAPP_PUBLIC_URL", async () => {
    const { server, logs } = await start(dir(), "0.0.0.0");
    expect(server.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
    expect(logs.find((l) => typeof l.setupUrl === "string")?.setupUrl).toBe(
      `http://127.0.0.1:${server.port}/setup`,
    );
    expect(logs.some((l) => String(l.msg).includes("set BACKAPP_PUBLIC_URL"))).toBe(true);
  });
});
