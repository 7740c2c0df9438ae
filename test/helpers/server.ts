import { startServer } from "../../src/server.ts";
import { createLogger } from "../../src/util/logger.ts";
import { tempDir } from "./temp.ts";

export interface TestServer {
  url: string;
  dataDir: string;
  /** Lines the server logged (JSON, parsed). */
  logs: Record<string, unknown>[];
  stop(): Promise<void>;
}

/** Starts the real server in-process on a random loopback port with a fresh data dir. */
export async function startTestServer(options: { dataDir?: string } = {}): Promise<TestServer> {
  const dir = options.dataDir ? null : tempDir("backapp-server-");
  const dataDir = options.dataDir ?? dir!.path;
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger("info", {
    write(line: string) {
      logs.push(JSON.parse(line) as Record<string, unknown>);
    },
  });
  const server = await startServer({ host: "127.0.0.1", port: 0, dataDir, logLevel: "info" }, logger);
  return {
    url: server.url,
    dataDir,
    logs,
    async stop() {
      await server.stop();
      dir?.cleanup();
    },
  };
}
