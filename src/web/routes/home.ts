import { Hono } from "hono";
import type { AppEnv } from "../context.ts";
import { requireUser } from "../middleware/guards.ts";
import { dashboardPage } from "./dashboard.ts";

/** `/`: a signed-in user lands on the dashboard (the same page as /dashboard); others sign in. */
export function homeRoutes() {
  const app = new Hono<AppEnv>();
  app.get("/", requireUser(), dashboardPage);
  return app;
}
