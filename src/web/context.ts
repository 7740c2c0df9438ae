import type { RateLimiter } from "../auth/rate-limit.ts";
import type { Db } from "../db/client.ts";
import type { SessionRow } from "../db/sessions.ts";
import type { UserRow } from "../db/users.ts";
import type { EventBus } from "../events/bus.ts";
import type { JobService } from "../jobs/service.ts";
import type { VerificationService } from "../jobs/verification.ts";
import type { Mailer } from "../notify/email.ts";
import type { Clock } from "../util/clock.ts";
import type { Logger } from "../util/logger.ts";
import type { Renderer } from "./render.ts";

/** Access-control settings and helpers, built once by server.ts. */
export interface SecurityServices {
  limiter: RateLimiter;
  /** Remote addresses whose X-Forwarded-For / X-Forwarded-Proto headers are believed. */
  trustedProxies: readonly string[];
  /** Base URL for links in emails; when absent, the server's own listen URL. */
  publicUrl: string;
  /** Outgoing mail; absent when SMTP is not configured (admins then hand out reset links). */
  mailer?: Mailer | undefined;
}

/** Everything a route handler may use; built once by main.ts and passed to createApp. */
export interface AppServices {
  db: Db;
  logger: Logger;
  clock: Clock;
  renderer: Renderer;
  version: string;
  dataDir: string;
  startedAt: Date;
  security: SecurityServices;
  /** Backup runs and schedules: the web's only way to the engine. */
  jobs: JobService;
  /** In-process events (runs, alerts, job changes) for live views. */
  events: EventBus;
  /** Repository checks and restore drills, on demand and on their schedule. */
  verify: VerificationService;
}

/** Hono environment: services and per-request values set by middleware. */
export interface AppEnv {
  Variables: {
    services: AppServices;
    requestId: string;
    /** The signed-in user (session or API token), or null. Set by the auth middleware. */
    user: UserRow | null;
    /** The cookie session, when the request was authenticated by one. */
    session: SessionRow | null;
    /** How the request was authenticated. Bearer-token requests are exempt from CSRF checks. */
    authVia: "session" | "token" | null;
    /** The client's address (X-Forwarded-For only from a trusted proxy). */
    clientIp: string;
  };
}
