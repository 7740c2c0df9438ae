/**
 * The web application: middleware in one ordered list, then one sub-app per area. Nothing here
 * opens databases or sockets; server.ts builds the services and serves the returned app.
 * Access is decided per area: public (health, static, sign-in pages), signed in, or admin.
 */
import { Hono, type MiddlewareHandler } from "hono";
import type { AppEnv, AppServices } from "./context.ts";
import { isApiPath, notFound, onError } from "./errors.ts";
import { authenticate } from "./middleware/auth.ts";
import { jsonOnlyApi, limitBody } from "./middleware/body.ts";
import { clientInfo } from "./middleware/client.ts";
import { csrfProtection } from "./middleware/csrf.ts";
import { setupRedirect } from "./middleware/guards.ts";
import { requestLog } from "./middleware/request-log.ts";
import { securityHeaders } from "./middleware/security-headers.ts";
import { staticAssets } from "./middleware/static.ts";
import { strictTransport } from "./middleware/transport.ts";
import { accountApiRoutes } from "./routes/account-api.ts";
import { adminApiRoutes } from "./routes/admin-api.ts";
import { adminPageRoutes } from "./routes/admin-pages.ts";
import { alertsApiRoutes, alertsPageRoutes } from "./routes/alerts.ts";
import { authApiRoutes } from "./routes/auth-api.ts";
import { authPageRoutes } from "./routes/auth-pages.ts";
import { backupsApiRoutes } from "./routes/backups-api.ts";
import { backupsPageRoutes } from "./routes/backups-pages.ts";
import { configsApiRoutes } from "./routes/configs-api.ts";
import { configsPageRoutes } from "./routes/configs-pages.ts";
import { dashboardRoutes } from "./routes/dashboard.ts";
import { destinationAreas } from "./routes/destinations-pages.ts";
import { healthRoutes } from "./routes/health.ts";
import { homeRoutes } from "./routes/home.ts";
import { metricsRoutes } from "./routes/metrics.ts";
import { notificationApiRoutes } from "./routes/notifications-api.ts";
import { notificationPageRoutes } from "./routes/notifications-pages.ts";
import { profilePageRoutes } from "./routes/profile-pages.ts";
import { recoveryPageRoutes } from "./routes/recovery-pages.ts";
import { reportsRoutes } from "./routes/reports.ts";
import { restoresApiRoutes } from "./routes/restores-api.ts";
import { settingsRoutes } from "./routes/settings.ts";
import { snapshotsApiRoutes } from "./routes/snapshots-api.ts";
import { snapshotsPageRoutes } from "./routes/snapshots-pages.ts";
import { verifyRoutes } from "./routes/verify-api.ts";

export function createApp(services: AppServices) {
  const app = new Hono<AppEnv>();

  const middleware: MiddlewareHandler<AppEnv>[] = [
    async function provideServices(c, next) {
      c.set("services", services);
      await next();
    },
    requestLog(),
    securityHeaders(),
    strictTransport(),
    async function noStoreApi(c, next) {
      await next();
      // API answers carry sessions, tokens and private data: never cache them.
      if (isApiPath(c.req.path) && !c.res.headers.has("cache-control")) c.header("Cache-Control", "no-store");
    },
    clientInfo(),
    limitBody(),
    authenticate(),
    csrfProtection(),
    jsonOnlyApi(),
  ];
  for (const m of middleware) app.use("*", m);

  const areas = [
    healthRoutes(),
    metricsRoutes(),
    staticAssets(),
    authPageRoutes(),
    recoveryPageRoutes(),
    authApiRoutes(),
    homeRoutes(),
    profilePageRoutes(),
    accountApiRoutes(),
    adminPageRoutes(),
    adminApiRoutes(),
    settingsRoutes(),
    configsPageRoutes(),
    configsApiRoutes(),
    destinationAreas(),
    backupsApiRoutes(),
    backupsPageRoutes(),
    snapshotsApiRoutes(),
    restoresApiRoutes(),
    snapshotsPageRoutes(),
    verifyRoutes(),
    reportsRoutes(),
    dashboardRoutes(),
    alertsApiRoutes(),
    alertsPageRoutes(),
  ];
  for (const area of areas) app.route("/", area);
  // Areas with their own prefix carry their own guard (app.use("*", …) inside the sub-app).
  app.route("/settings/notifications", notificationPageRoutes());
  app.route("/api/notifications", notificationApiRoutes());

  app.notFound((c) => setupRedirect(c) ?? notFound(c));
  app.onError(onError);
  return app;
}

export type App = ReturnType<typeof createApp>;
