import { Hono } from "hono";
import { assets } from "../../generated/embedded.ts";
import type { AppEnv } from "../context.ts";

const TYPES: Record<string, string> = {
  css: "text/css; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  svg: "image/svg+xml",
  png: "image/png",
  ico: "image/x-icon",
  woff2: "font/woff2",
};

/**
 * GET /static/<hash>/<name>: embedded assets, cached for a year (the hash changes with the
 * content). A stale hash still serves the current file but only briefly cached.
 */
export function staticRoutes() {
  const app = new Hono<AppEnv>();
  app.get("/static/:hash/:name", async (c) => {
    const { hash, name } = c.req.param();
    const asset = Object.hasOwn(assets, name) ? assets[name] : undefined;
    if (!asset) return c.notFound();
    const ext = name.slice(name.lastIndexOf(".") + 1);
    const body = await Bun.file(asset.path).arrayBuffer();
    c.header("Content-Type", TYPES[ext] ?? "application/octet-stream");
    c.header(
      "Cache-Control",
      hash === asset.hash ? "public, max-age=31536000, immutable" : "public, max-age=60",
    );
    c.header("ETag", `"${asset.hash}"`);
    return c.body(body);
  });
  return app;
}
