/**
 * Composition root of the server: config → data dir lock → database → services → HTTP server.
 * Returns a handle whose stop() drains in-flight requests and closes everything in order.
 */

import { ensureSetupToken } from "./auth/accounts.ts";
import { createRateLimiter } from "./auth/rate-limit.ts";
import type { ServerConfig } from "./config/index.ts";
import { type Db, ensureDataDir, openDatabase } from "./db/client.ts";
import { lockDataDir } from "./db/data-dir-lock.ts";
import { sealStoredHealthcheckUrls } from "./db/job-secrets.ts";
import { createEventBus } from "./events/bus.ts";
import { createJobService } from "./jobs/service.ts";
import { createVerificationService } from "./jobs/verification.ts";
import { notificationDeps } from "./notify/dispatch.ts";
import { createSmtpMailer } from "./notify/email.ts";
import { systemClock } from "./util/clock.ts";
import { BackappError } from "./util/errors.ts";
import { createLogger, type Logger } from "./util/logger.ts";
import { version } from "./util/version.ts";
import { createApp } from "./web/app.ts";
import type { AppServices } from "./web/context.ts";
import { type FetchHandler, type Listener, listenHttp } from "./web/node-listener.ts";
import { createRenderer } from "./web/render.ts";

export interface RunningServer {
  url: string;
  port: number;
  logger: Logger;
  /**
   * Stops the scheduler, cancels backup runs and waits up to half of `graceMs` for them to end
   * (then kills their processes; the rows become "interrupted" at the next start), closes live
   * event streams, then stops accepting and lets in-flight requests finish for the rest of the
   * grace before cutting the connections still open, closes the database (WAL checkpointed)
   * and releases the data dir lock. The default is SHUTDOWN_GRACE_MS. Calling it again (say on a second signal, with graceMs 0) shortens the
   * wait; every call resolves when everything is closed. Never rejects.
   */
  stop(options?: { graceMs?: number }): Promise<void>;
}

/**
 * Default time in-flight requests get to finish on shutdown: under the 10 s `docker stop` and
 * most service managers wait before SIGKILL, so the database is still closed cleanly.
 */
export const SHUTDOWN_GRACE_MS = 8_000;

export class ListenError extends BackappError {}

const LISTEN_REASONS: Record<string, string> = {
  EADDRINUSE: "the address is already in use (is another server running?)",
  EADDRNOTAVAIL: "this machine has no such address",
  EACCES: "permission denied (ports below 1024 need privileges)",
  ENOTFOUND: "unknown host name",
};

async function listen(config: ServerConfig, fetch: FetchHandler): Promise<Listener> {
  try {
    return await listenHttp({ hostname: config.host, port: config.port, fetch });
  } catch (error) {
    const code = String((error as NodeJS.ErrnoException).code ?? "");
    const reason = LISTEN_REASONS[code] ?? (error as Error).message;
    throw new ListenError(
      `cannot listen on ${formatHostPort(config.host, config.port)}: ${reason}; choose another with --listen or BACKAPP_LISTEN`,
    );
  }
}

function formatHostPort(host: string, port: number | undefined): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

export async function startServer(config: ServerConfig, logger = createLogger(config.logLevel)) {
  ensureDataDir(config.dataDir);
  const lock = lockDataDir(config.dataDir);
  let database: ReturnType<typeof openDatabase> | undefined;
  let server: Listener | undefined;
  let startedJobs: AppServices["jobs"] | undefined;
  const closeRest = () => {
    database?.close();
    lock.release();
  };
  try {
    database = openDatabase(config.dataDir);
    const sealed = sealStoredHealthcheckUrls(database.db);
    if (sealed > 0)
      logger.info({ jobs: sealed }, "sealed healthcheck URLs stored in clear by an older version");
    const services = buildServices(config, database.db, logger);
    server = await listen(config, createApp(services).fetch);
    const url = `http://${formatHostPort(config.host, server.port)}`;
    if (!config.publicUrl) services.security.publicUrl = defaultPublicUrl(config.host, server.port, logger);
    announceSetupToken(database.db, logger, services.security.publicUrl);
    startedJobs = services.jobs;
    services.jobs.start();
    services.verify.start();
    // Last: callers treat this line as "ready".
    logger.info({ url, dataDir: config.dataDir, version }, "backapp listening");
    return running(url, server, logger, closeRest, async (graceMs) => {
      // Runs first (scheduler, then cancel and drain), then live streams, then HTTP.
      services.verify.stop();
      await services.jobs.stop({ drainMs: graceMs });
      services.events.close();
    });
  } catch (error) {
    void server?.stop(true);
    await startedJobs?.stop({ drainMs: 0 });
    closeRest();
    throw error;
  }
}

function buildServices(config: ServerConfig, db: Db, logger: Logger): AppServices {
  const events = createEventBus();
  const security = {
    limiter: createRateLimiter(systemClock),
    trustedProxies: config.trustedProxies ?? [],
    // Links in emails: the configured public URL, else the listen URL (known once listening).
    publicUrl: config.publicUrl ?? "",
    mailer: config.smtp ? createSmtpMailer(config.smtp) : undefined,
  };
  const notify = notificationDeps({
    db,
    dataDir: config.dataDir,
    clock: systemClock,
    logger,
    envMailer: security.mailer,
    publicUrl: () => security.publicUrl,
    version,
  });
  const jobs = createJobService({
    db,
    clock: systemClock,
    bus: events,
    logger,
    dataDir: config.dataDir,
    notify,
  });
  return {
    db,
    logger,
    clock: systemClock,
    events,
    jobs,
    verify: createVerificationService({
      db,
      clock: systemClock,
      bus: events,
      logger,
      dataDir: config.dataDir,
      notify,
      jobs,
    }),
    security,
    renderer: createRenderer({ version }),
    version,
    dataDir: config.dataDir,
    startedAt: new Date(systemClock.now()),
  };
}

const WILDCARDS: Record<string, string> = { "0.0.0.0": "127.0.0.1", "::": "::1" };

/**
 * The listen URL, except that "all interfaces" is no address a browser can open: links then
 * use the loopback address, and the operator is told to set BACKAPP_PUBLIC_URL.
 */
function defaultPublicUrl(host: string, port: number | undefined, logger: Logger): string {
  const loopback = WILDCARDS[host];
  if (!loopback) return `http://${formatHostPort(host, port)}`;
  logger.warn(
    { listen: formatHostPort(host, port) },
    "listening on all interfaces: set BACKAPP_PUBLIC_URL to the address users reach, for the links in emails",
  );
  return `http://${formatHostPort(loopback, port)}`;
}

function announceSetupToken(db: Db, logger: Logger, publicUrl: string): void {
  const setupToken = ensureSetupToken({ db, clock: systemClock });
  if (setupToken) {
    logger.warn(
      { setupToken, setupUrl: `${publicUrl}/setup` },
      "no account exists yet: open /setup and enter this setup token (also printed by `backapp setup-token`)",
    );
  }
}

function running(
  url: string,
  server: Listener,
  logger: Logger,
  closeRest: () => void,
  stopJobs: (graceMs: number) => Promise<void>,
): RunningServer {
  let finished: Promise<void> | null = null;
  let done = false;
  let forceTimer: ReturnType<typeof setTimeout> | undefined;
  const force = () => void server.stop(true).catch(() => {});
  return {
    url,
    port: server.port,
    logger,
    stop({ graceMs = SHUTDOWN_GRACE_MS } = {}) {
      clearTimeout(forceTimer);
      if (done) return finished ?? Promise.resolve();
      const stopRuns = (drainMs: number) =>
        stopJobs(drainMs).catch((e) =>
          logger.error({ err: { message: (e as Error).message } }, "stopping backup runs failed"),
        );
      if (graceMs <= 0) {
        force();
        void stopRuns(0);
      }
      finished ??= (async () => {
        // Half the grace drains backup runs, the rest in-flight requests.
        const drainMs = Math.floor(graceMs / 2);
        await stopRuns(drainMs);
        if (graceMs > 0 && !done) forceTimer = setTimeout(force, graceMs - drainMs);
        await server.stop(false).catch(() => {});
        done = true;
        clearTimeout(forceTimer);
        try {
          closeRest();
          logger.info("backapp stopped");
        } catch (error) {
          logger.error({ err: { message: (error as Error).message } }, "closing the database failed");
        }
      })();
      return finished;
    },
  };
}
