/**
 * Composition root of the server: config → data dir lock → database → services → HTTP server.
 * Returns a handle whose stop() drains in-flight requests and closes everything in order.
 */

import { ensureSetupToken } from "./auth/accounts.ts";
import { createRateLimiter } from "./auth/rate-limit.ts";
import type { ServerConfig } from "./config/index.ts";
import { ensureDataDir, openDatabase } from "./db/client.ts";
import { lockDataDir } from "./db/data-dir-lock.ts";
import { createSmtpMailer } from "./notify/email.ts";
import { systemClock } from "./util/clock.ts";
import { createLogger, type Logger } from "./util/logger.ts";
import { version } from "./util/version.ts";
import { createApp } from "./web/app.ts";
import type { AppServices } from "./web/context.ts";
import { createRenderer } from "./web/render.ts";

export interface RunningServer {
  url: string;
  port: number;
  logger: Logger;
  /** Stops accepting, waits for in-flight requests, closes the database, releases the lock. */
  stop(): Promise<void>;
}

export async function startServer(config: ServerConfig, logger = createLogger(config.logLevel)) {
  ensureDataDir(config.dataDir);
  const lock = lockDataDir(config.dataDir);
  let database: ReturnType<typeof openDatabase>;
  try {
    database = openDatabase(config.dataDir);
  } catch (error) {
    lock.release();
    throw error;
  }
  const security = {
    limiter: createRateLimiter(systemClock),
    trustedProxies: config.trustedProxies ?? [],
    // Links in emails: the configured public URL, else the listen URL (known once listening).
    publicUrl: config.publicUrl ?? "",
    mailer: config.smtp ? createSmtpMailer(config.smtp) : undefined,
  };
  const services: AppServices = {
    db: database.db,
    logger,
    clock: systemClock,
    security,
    renderer: createRenderer({ version }),
    version,
    dataDir: config.dataDir,
    startedAt: new Date(),
  };
  const app = createApp(services);
  let server: ReturnType<typeof Bun.serve>;
  try {
    server = Bun.serve({ hostname: config.host, port: config.port, fetch: app.fetch, idleTimeout: 0 });
  } catch (error) {
    database.close();
    lock.release();
    throw error;
  }
  const url = `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${server.port}`;
  if (!config.publicUrl) security.publicUrl = url;
  const setupToken = ensureSetupToken({ db: database.db, clock: systemClock });
  if (setupToken) {
    logger.warn(
      { setupToken, setupUrl: `${security.publicUrl}/setup` },
      "no account exists yet: open /setup and enter this setup token (also printed by `backapp setup-token`)",
    );
  }
  // Last: callers treat this line as "ready".
  logger.info({ url, dataDir: config.dataDir, version }, "backapp listening");
  let stopping: Promise<void> | null = null;
  return {
    url,
    port: server.port as number,
    logger,
    stop() {
      stopping ??= (async () => {
        await server.stop(false);
        database.close();
        lock.release();
        logger.info("backapp stopped");
      })();
      return stopping;
    },
  } satisfies RunningServer;
}
