/** Embedded assets under their content hash: cache headers, types, 304s and every way to miss. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assets } from "../../src/generated/embedded.ts";
import { assetType, IMMUTABLE } from "../../src/web/middleware/static.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.stop();
});

const url = (name: string) => `${server.url}/static/${assets[name]!.hash}/${name}`;

describe("static assets", () => {
  it("serves every embedded asset with its type, an ETag and an immutable year of cache", async () => {
    for (const name of Object.keys(assets)) {
      const res = await fetch(url(name));
      expect(res.status, name).toBe(200);
      expect(res.headers.get("content-type"), name).toBe(assetType(name));
      expect(res.headers.get("cache-control"), name).toBe(IMMUTABLE);
      expect(res.headers.get("etag"), name).toBe(`"${assets[name]!.hash}"`);
      expect(res.headers.get("x-content-type-options"), name).toBe("nosniff");
      const body = new Uint8Array(await res.arrayBuffer());
      expect(body).toEqual(new Uint8Array(await Bun.file(assets[name]!.path).arrayBuffer()));
    }
    expect(assetType("htmx.min.js")).toBe("text/javascript; charset=utf-8");
    expect(assetType("app.css")).toBe("text/css; charset=utf-8");
    expect(assetType("icon.svg")).toBe("image/svg+xml");
    expect(assetType("x.unknown")).toBe("application/octet-stream");
  });

  it("answers HEAD with the headers and no body", async () => {
    const res = await fetch(url("app.css"), { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/css");
    expect(res.headers.get("cache-control")).toBe(IMMUTABLE);
    expect(await res.text()).toBe("");
  });

  it("answers a matching If-None-Match with 304", async () => {
    const etag = `"${assets["htmx.min.js"]!.hash}"`;
    const res = await fetch(url("htmx.min.js"), { headers: { "If-None-Match": `"other", ${etag}` } });
    expect(res.status).toBe(304);
    expect(await res.text()).toBe("");
    const miss = await fetch(url("htmx.min.js"), { headers: { "If-None-Match": '"other"' } });
    expect(miss.status).toBe(200);
  });

  it("is a 404 for a stale hash, an unknown name and prototype keys", async () => {
    for (const path of [
      "/static/000000000000/app.css",
      `/static/${assets["app.css"]!.hash}/nope.css`,
      "/static/x/constructor",
      "/static/x/__proto__",
      "/static/app.css",
      `/static/${assets["app.css"]!.hash}/app.css/extra`,
    ]) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.status, path).toBe(404);
      expect(res.headers.get("cache-control"), path).not.toBe(IMMUTABLE);
    }
  });

  it("never leaves the embedded table: raw and encoded traversal never serve a file", async () => {
    for (const path of [
      "/static/../../package.json",
      "/static/%2e%2e/%2e%2e/package.json",
      "/static/x/..%2f..%2fpackage.json",
      "/static/x/%2e%2e%2fpackage.json",
      "/static/x/..%5c..%5cpackage.json",
      "/static/x/app.css%00",
      "/static/%2e%2e/app.css",
    ]) {
      // A raw socket, so no client normalises the dots away. The server resolves raw dots
      // itself: "/static/../../package.json" is "/package.json", which (with no account yet)
      // redirects to /setup like every other page.
      const res = await rawGet(server.url, path);
      expect([303, 404], path).toContain(res.status);
      expect(res.body, path).not.toContain('"name": "backapp"');
      expect(res.body, path).not.toContain("var htmx=");
    }
  });
});

/** GET with the path sent exactly as written. */
async function rawGet(base: string, path: string): Promise<{ status: number; body: string }> {
  const { host, port } = new URL(base);
  const { connect } = await import("node:net");
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), host.replace(/:\d+$/, ""));
    let data = "";
    socket.on("data", (d) => {
      data += d.toString();
    });
    socket.on("error", reject);
    socket.on("end", () => {
      resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(data)?.[1]), body: data });
    });
    socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
  });
}
