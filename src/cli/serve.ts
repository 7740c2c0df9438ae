import { resolveServerConfig } from "../config/index.ts";
import { startServer } from "../server.ts";
import { parseFlags, UsageError } from "./args.ts";
import type { Command } from "./io.ts";

const usage = `Usage: backapp serve [--listen HOST:PORT] [--data-dir DIR] [--log-level LEVEL]

Serves the web UI and JSON API. Logs are JSON lines on stdout. One server per data dir.
SIGTERM or SIGINT: stop accepting, let requests finish (up to 8 s), close the database, exit 0;
a second signal cuts the remaining requests (exit 1).

Flags:
  --listen HOST:PORT   address to listen on (env BACKAPP_LISTEN, default 127.0.0.1:8080; [::1]:8080
                       for IPv6; :8080 is 127.0.0.1:8080, all interfaces are 0.0.0.0:8080 or [::]:8080)
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
    const signals = watchSignals();
    try {
      const server = await startServer(config);
      const first = await signals.next();
      server.logger.info({ signal: first }, "shutting down: finishing in-flight requests");
      let forced = false;
      void signals.next().then((second) => {
        forced = true;
        server.logger.warn({ signal: second }, "second signal: closing open connections now");
        void server.stop({ graceMs: 0 });
        // Should closing itself hang, the second signal still ends the process.
        setTimeout(() => process.exit(EXIT_FORCED), FORCED_EXIT_MS).unref();
      });
      await server.stop();
      return forced ? EXIT_FORCED : 0;
    } finally {
      signals.dispose();
    }
  },
};

/** Exit code when a second signal cut requests short. */
const EXIT_FORCED = 1;
const FORCED_EXIT_MS = 3_000;

/** SIGTERM and SIGINT as a queue: the first asks for a graceful stop, the second forces it. */
function watchSignals() {
  const received: string[] = [];
  const waiters: ((signal: string) => void)[] = [];
  const onSignal = (signal: string) => {
    const waiter = waiters.shift();
    if (waiter) waiter(signal);
    else received.push(signal);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  return {
    next(): Promise<string> {
      const signal = received.shift();
      return signal ? Promise.resolve(signal) : new Promise((resolve) => waiters.push(resolve));
    },
    dispose() {
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
    },
  };
}
