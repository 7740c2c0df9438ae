import type { Db } from "../db/client.ts";
import type { Clock } from "../util/clock.ts";
import type { Logger } from "../util/logger.ts";
import type { Renderer } from "./render.ts";

/** Everything a route handler may use; built once by main.ts and passed to createApp. */
export interface AppServices {
  db: Db;
  logger: Logger;
  clock: Clock;
  renderer: Renderer;
  version: string;
  dataDir: string;
  startedAt: Date;
}

/** Hono environment: services and per-request values set by middleware. */
export interface AppEnv {
  Variables: {
    services: AppServices;
    requestId: string;
  };
}
