import { resolveServerConfig } from "../config/index.ts";
import { startServer } from "../server.ts";
import { parseFlags, UsageError } from "./args.ts";
import type { Command } from "./io.ts";

const usage = `Usage: backapp serve [--listen HOST:PORT] [--data-dir DIR] [--log-level LEVEL]

Serves the web UI and JSON API.

Flags:
  --listen HOST:PORT   address to listen on (env BACKAPP_LISTEN, default 127.0.0.1:8080)
  --data-dir DIR       where backapp.db lives (env BACKAPP_DATA_DIR, default: the platform's data dir)
  --log-level LEVEL    trace|debug|info|warn|error|fatal|silent (env BACKAPP_LOG_LEVEL, default info)
`;

export const serveCommand: Command = {
  name: "serve",
  summary: "serve the web UI and JSON API",
  usage,
  async run(argv, io) {
    const { flags, positionals } = parseFlags(argv, {
      listen: { type: "string" },
      "data-dir": { type: "string" },
      "log-level": { type: "string" },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    let config: ReturnType<typeof resolveServerConfig>;
    try {
      config = resolveServerConfig(
        { listen: flags.listen, dataDir: flags["data-dir"], logLevel: flags["log-level"] },
        io.env,
      );
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    // Listen for signals before starting, so one that arrives during start-up still stops cleanly.
    const signalled = new Promise<string>((resolve) => {
      process.once("SIGTERM", () => resolve("SIGTERM"));
      process.once("SIGINT", () => resolve("SIGINT"));
    });
    const server = await startServer(config);
    const signal = await signalled;
    server.logger.info({ signal }, "shutting down");
    await server.stop();
    return 0;
  },
};
