import { Hono } from "hono";
import type { AppEnv } from "../context.ts";

export function homeRoutes() {
  const app = new Hono<AppEnv>();
  app.get("/", (c) => {
    const { renderer, dataDir, startedAt } = c.get("services");
    return c.html(
      renderer.page("home", { title: "Dashboard", dataDir, startedAt: startedAt.toISOString() }, "/"),
    );
  });
  return app;
}
