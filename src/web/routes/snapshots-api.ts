/**
 * The browse JSON API (issue 10): `/api/snapshots` (newest first, per job and destination),
 * `/api/snapshots/:id/tree`, `/search`, `/download` (a file's bytes, or a folder as a tar, both
 * streamed) and `/api/files/versions`. `:id` is a full id, a unique prefix or `latest`. Paths come
 * as `path=` (plain) or `p=` (a lossless token from encodePathToken); anything that could step
 * outside the snapshot is refused with 400. Another user's destination or job is 404.
 */
import { type Context, Hono } from "hono";
import { z } from "zod";
import { principalFor } from "../../jobs/backups.ts";
import {
  browseCache,
  dispositionOf,
  downloadFrom,
  listSnapshotsFor,
  resolveRequestPath,
  type SnapshotsDeps,
  searchIn,
  treePage,
  versionsOf,
} from "../../jobs/snapshots.ts";
import type { AppEnv } from "../context.ts";
import { parseWith } from "../forms.ts";
import { requireUser } from "../middleware/guards.ts";

const id = z.string().min(1).max(64);
const pathParams = { path: z.string().max(70_000).optional(), p: z.string().max(100_000).optional() };
const listSchema = z.object({
  configId: id.optional(),
  destinationId: id.optional(),
  cursor: z.string().max(300).optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
});
const treeSchema = z.object({
  destinationId: id,
  ...pathParams,
  cursor: z.string().max(100_000).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});
const searchSchema = z.object({
  destinationId: id,
  q: z.string().min(1).max(1000),
  cursor: z.string().max(100_000).optional(),
});
const downloadSchema = z.object({ destinationId: id, ...pathParams });
const versionsSchema = z.object({ configId: id, ...pathParams });

export function snapshotsDeps(c: Context<AppEnv>): SnapshotsDeps {
  const { db, dataDir } = c.get("services");
  return { db, dataDir, browse: browseCache() };
}

/**
 * A download as a response: exact Content-Length when known (kept on the wire by the node:http
 * listener, web/node-listener.ts), a safe Content-Disposition.
 */
export async function downloadResponse(c: Context<AppEnv>, destinationId: string, ref: string, path: string) {
  const p = principalFor(c.get("user"));
  const d = await downloadFrom(snapshotsDeps(c), p, destinationId, ref, path, c.req.raw.signal);
  const headers: Record<string, string> = {
    "Content-Type": d.kind === "file" ? "application/octet-stream" : "application/x-tar",
    "Content-Disposition": await dispositionOf(d.name),
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
  };
  if (d.size !== null) headers["Content-Length"] = String(d.size);
  if (c.req.method === "HEAD") {
    // The GET's headers, no body: the child that resolved the path stops now (Hono would drop the
    // stream unread, leaving the child blocked on its pipe).
    await d.stream.cancel();
    return new Response(null, { headers });
  }
  return new Response(d.stream, { headers });
}

/** One page of a search in snapshot `ref`, for the signed-in user. */
export function searchSnapshotFor(
  c: Context<AppEnv>,
  ref: string,
  q: { destinationId: string; q: string; cursor?: string },
) {
  const options = { ...(q.cursor ? { cursor: q.cursor } : {}), signal: c.req.raw.signal };
  return searchIn(snapshotsDeps(c), principalFor(c.get("user")), q.destinationId, ref, q.q, options);
}

export function snapshotsApiRoutes() {
  const api = new Hono<AppEnv>();
  api.use("*", requireUser());

  api.get("/", async (c) => {
    const q = parseWith(listSchema, c.req.query());
    return c.json(await listSnapshotsFor(snapshotsDeps(c), principalFor(c.get("user")), q, c.req.raw.signal));
  });

  api.get("/:id/tree", async (c) => {
    const q = parseWith(treeSchema, c.req.query());
    const path = await resolveRequestPath(q);
    const page = await treePage(
      snapshotsDeps(c),
      principalFor(c.get("user")),
      q.destinationId,
      c.req.param("id"),
      path,
      {
        ...(q.cursor ? { cursor: q.cursor } : {}),
        ...(q.limit ? { limit: q.limit } : {}),
        signal: c.req.raw.signal,
      },
    );
    return c.json({
      path: page.path,
      items: page.items,
      nextCursor: page.nextCursor,
      snapshotId: page.snapshotId,
    });
  });

  api.get("/:id/search", async (c) => {
    const q = parseWith(searchSchema, c.req.query());
    const page = await searchSnapshotFor(c, c.req.param("id"), q);
    const items = page.items.map((i) => ({ path: i.path, type: i.type, size: i.size, mtime: i.mtime }));
    return c.json({ items, nextCursor: page.nextCursor, snapshotId: page.snapshotId });
  });

  api.get("/:id/download", async (c) => {
    const q = parseWith(downloadSchema, c.req.query());
    return downloadResponse(c, q.destinationId, c.req.param("id"), await resolveRequestPath(q));
  });

  const files = new Hono<AppEnv>();
  files.use("*", requireUser());
  files.get("/versions", async (c) => {
    const q = parseWith(versionsSchema, c.req.query());
    const path = await resolveRequestPath(q);
    const out = await versionsOf(
      snapshotsDeps(c),
      principalFor(c.get("user")),
      q.configId,
      path,
      c.req.raw.signal,
    );
    return c.json({ items: out.items, destinationId: out.destinationId });
  });

  return new Hono<AppEnv>().route("/api/snapshots", api).route("/api/files", files);
}
