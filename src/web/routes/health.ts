import { Hono } from "hono";
import type { AppEnv } from "../context.ts";

/** GET /healthz: liveness plus a database round trip; htmx callers get a small HTML fragment. */
export function healthRoutes() {
  const app = new Hono<AppEnv>();
  app.get("/healthz", (c) => {
    const { db, version } = c.get("services");
    let status: "ok" | "degraded" = "ok";
    try {
      db.$client.query("SELECT 1").get();
    } catch {
      status = "degraded";
    }
    c.header("Cache-Control", "no-store");
    const code = status === "ok" ? 200 : 503;
    if (c.req.header("HX-Request")) return c.html(`<span class="health-${status}">${status}</span>`, code);
    return c.json({ status, version }, code);
  });
  return app;
}
