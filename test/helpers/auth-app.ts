/**
 * The web app over a real SQLite file in a temp dir, with a manual clock, for tests that move
 * time (session expiry, rate-limit backoff) through `app.request()` without a socket.
 */

import { createRateLimiter } from "../../src/auth/rate-limit.ts";
import { openDatabase } from "../../src/db/client.ts";
import { createEventBus } from "../../src/events/bus.ts";
import { createJobService } from "../../src/jobs/service.ts";
import { createVerificationService } from "../../src/jobs/verification.ts";
import type { Mailer } from "../../src/notify/email.ts";
import { createManualClock } from "../../src/util/clock.ts";
import { createLogger } from "../../src/util/logger.ts";
import { createApp } from "../../src/web/app.ts";
import type { AppServices } from "../../src/web/context.ts";
import { createRenderer } from "../../src/web/render.ts";
import { tempDir } from "./temp.ts";

export function createTestApp(options: { mailer?: Mailer; trustedProxies?: string[] } = {}) {
  const dir = tempDir("backapp-app-");
  const database = openDatabase(dir.path);
  const clock = createManualClock(Date.parse("2026-01-01T00:00:00Z"));
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger("info", {
    write(line: string) {
      logs.push(JSON.parse(line) as Record<string, unknown>);
    },
  });
  const events = createEventBus();
  const jobs = createJobService({ db: database.db, clock, bus: events, logger, dataDir: dir.path });
  const services: AppServices = {
    db: database.db,
    logger,
    clock,
    events,
    jobs,
    verify: createVerificationService({
      db: database.db,
      clock,
      bus: events,
      logger,
      dataDir: dir.path,
      jobs,
    }),
    renderer: createRenderer({ version: "test" }),
    version: "test",
    dataDir: dir.path,
    startedAt: new Date(clock.now()),
    security: {
      limiter: createRateLimiter(clock),
      trustedProxies: options.trustedProxies ?? [],
      publicUrl: "http://backapp.test",
      mailer: options.mailer,
    },
  };
  const app = createApp(services);
  return {
    app,
    services,
    clock,
    logs,
    db: database.db,
    close() {
      void services.jobs.stop({ drainMs: 0 });
      events.close();
      database.close();
      dir.cleanup();
    },
  };
}
