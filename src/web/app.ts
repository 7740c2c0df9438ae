/**
 * The web application: middleware in one ordered list, then one sub-app per area. Nothing here
 * opens databases or sockets; main.ts builds the services and serves the returned app.
 */
import { Hono, type MiddlewareHandler } from "hono";
import type { AppEnv, AppServices } from "./context.ts";
import { notFound, onError } from "./errors.ts";
import { requestLog } from "./middleware/request-log.ts";
import { securityHeaders } from "./middleware/security-headers.ts";
import { healthRoutes } from "./routes/health.ts";
import { homeRoutes } from "./routes/home.ts";
import { staticRoutes } from "./routes/static.ts";

export function createApp(services: AppServices) {
  const app = new Hono<AppEnv>();

  const middleware: MiddlewareHandler<AppEnv>[] = [
    async function provideServices(c, next) {
      c.set("services", services);
      await next();
    },
    requestLog(),
    securityHeaders(),
  ];
  for (const m of middleware) app.use("*", m);

  const areas = [healthRoutes(), staticRoutes(), homeRoutes()];
  for (const area of areas) app.route("/", area);

  app.notFound(notFound);
  app.onError(onError);
  return app;
}

export type App = ReturnType<typeof createApp>;
