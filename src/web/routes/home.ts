import { Hono } from "hono";
import type { AppEnv } from "../context.ts";
import { renderPage } from "../forms.ts";
import { requireUser } from "../middleware/guards.ts";

export function homeRoutes() {
  const app = new Hono<AppEnv>();
  app.get("/", requireUser(), (c) => {
    const { dataDir, startedAt } = c.get("services");
    return renderPage(c, "home", { title: "Dashboard", dataDir, startedAt: startedAt.toISOString() });
  });
  return app;
}
