/**
 * GET/HEAD /static/<hash>/<name>: the embedded assets (src/generated/embedded.ts). The URL names
 * one version of the content, so it is cached for a year as immutable; a hash that is not the
 * current one, an unknown name or anything with more path segments (traversal attempts,
 * encoded or not) is a 404. Names are looked up in the embedded table, never on disk.
 */
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
  ttf: "font/ttf",
};

export const IMMUTABLE = "public, max-age=31536000, immutable";

/** The MIME type for an asset name, by extension. */
export function assetType(name: string): string {
  return TYPES[name.slice(name.lastIndexOf(".") + 1)] ?? "application/octet-stream";
}

export function staticAssets() {
  const app = new Hono<AppEnv>();
  app.get("/static/:hash/:name", async (c) => {
    const { hash, name } = c.req.param();
    const asset = Object.hasOwn(assets, name) ? assets[name] : undefined;
    if (!asset || hash !== asset.hash) return c.notFound();
    const etag = `"${asset.hash}"`;
    c.header("Cache-Control", IMMUTABLE);
    c.header("ETag", etag);
    if (
      c.req
        .header("If-None-Match")
        ?.split(/\s*,\s*/)
        .includes(etag)
    )
      return c.body(null, 304);
    c.header("Content-Type", assetType(name));
    return c.body(await Bun.file(asset.path).arrayBuffer());
  });
  return app;
}
