/**
 * /snapshots pages: the snapshots of the user's jobs and destinations (filters, newest first); one
 * snapshot as a directory browser whose folders expand lazily with htmx, a page at a time (works
 * as plain links without JavaScript too); a search box; the versions of one file; download links;
 * a restore form with the existing-files choice, whose run page follows the restore live.
 */
import { type Context, Hono } from "hono";
import { z } from "zod";
import { isAdmin } from "../../auth/permissions.ts";
import { listDestinationRows } from "../../db/destinations.ts";
import { principalFor } from "../../jobs/backups.ts";
import { visibleConfigs } from "../../jobs/configs.ts";
import { cancelRestore, startRestore, visibleRestore } from "../../jobs/restores.ts";
import { pathCodec } from "../../jobs/snapshot-paths.ts";
import { listSnapshotsFor, resolveRequestPath, treePage, versionsOf } from "../../jobs/snapshots.ts";
import { formatBytes } from "../../util/bytes.ts";
import type { AppEnv } from "../context.ts";
import { actionContext, parseWith, renderPage } from "../forms.ts";
import { requireUser } from "../middleware/guards.ts";
import { restoreView } from "../restore-view.ts";
import { restoreDeps } from "./restores-api.ts";
import { searchSnapshotFor, snapshotsDeps } from "./snapshots-api.ts";

type Ctx = Context<AppEnv>;

const id = z.string().min(1).max(64);
const browseQuery = z.object({
  destinationId: id,
  p: z.string().max(100_000).optional(),
  path: z.string().max(70_000).optional(),
  cursor: z.string().max(100_000).optional(),
  q: z.string().max(1000).optional(),
});
const restoreForm = z.object({
  destinationId: id,
  p: z.string().max(100_000).optional(),
  target: z.string().min(1).max(4096),
  existing: z.enum(["skip", "overwrite", "rename"]),
});

function mode(n: number): string {
  return `0${(n & 0o7777).toString(8)}`;
}

/** The view data of one directory page (rows with their links). */
async function dirData(c: Ctx, ref: string, destinationId: string, path: string, cursor?: string) {
  const p = principalFor(c.get("user"));
  const codec = await pathCodec();
  const page = await treePage(snapshotsDeps(c), p, destinationId, ref, path, {
    ...(cursor ? { cursor } : {}),
    signal: c.req.raw.signal,
  });
  const base = `/snapshots/${page.snapshotId}`;
  const dest = `destinationId=${encodeURIComponent(destinationId)}`;
  const items = page.items.map((i) => {
    const full = `${page.path === "/" ? "" : page.path}/${i.name}`;
    const token = codec.token(full);
    return {
      ...i,
      display: codec.display(i.name),
      sizeText: i.type === "file" ? formatBytes(i.size) : "",
      modeText: mode(i.mode),
      token,
      open: `${base}/dir?${dest}&p=${token}`,
      browse: `${base}?${dest}&p=${token}`,
      download: `/api/snapshots/${page.snapshotId}/download?${dest}&p=${token}`,
    };
  });
  const more = page.nextCursor
    ? `${base}/dir?${dest}&p=${codec.token(page.path)}&cursor=${encodeURIComponent(page.nextCursor)}`
    : null;
  return { items, more, snapshotId: page.snapshotId, path: page.path, display: codec.display(page.path) };
}

export function snapshotsPageRoutes() {
  const pages = new Hono<AppEnv>();
  pages.use("*", requireUser());

  pages.get("/", async (c) => {
    const p = principalFor(c.get("user"));
    const { db } = c.get("services");
    const filters = {
      configId: (c.req.query("configId") ?? "").slice(0, 64),
      destinationId: (c.req.query("destinationId") ?? "").slice(0, 64),
    };
    const jobs = visibleConfigs(db, p);
    const destinations = listDestinationRows(db, isAdmin(p) ? undefined : p.id);
    const names = new Map(jobs.map((j) => [j.id, j.name]));
    const page = await listSnapshotsFor(snapshotsDeps(c), p, {
      ...(filters.configId ? { configId: filters.configId } : {}),
      ...(filters.destinationId ? { destinationId: filters.destinationId } : {}),
      ...(c.req.query("cursor") ? { cursor: (c.req.query("cursor") ?? "").slice(0, 300) } : {}),
      limit: 50,
    });
    const items = page.items.map((s) => ({
      ...s,
      jobName: s.configId ? (names.get(s.configId) ?? "(other job)") : "—",
      files: s.summary ? s.summary.files_new + s.summary.files_changed + s.summary.files_unmodified : null,
      added: s.summary ? formatBytes(s.summary.bytes_added) : "—",
    }));
    const next = page.nextCursor
      ? `/snapshots?${new URLSearchParams({ ...filters, cursor: page.nextCursor }).toString()}`
      : null;
    const destName = new Map(destinations.map((d) => [d.id, d.name]));
    const unavailable = page.unavailable.map((u) => ({
      name: destName.get(u.destinationId) ?? u.destinationId,
      message: u.message,
    }));
    return renderPage(c, "snapshots", {
      title: "Snapshots",
      items,
      jobs,
      destinations,
      filters,
      next,
      unavailable,
    });
  });

  pages.get("/restores/:rid", (c) => {
    const row = visibleRestore(c.get("services").db, principalFor(c.get("user")), c.req.param("rid"));
    return renderPage(c, "restore", { title: "Restore", ...restoreView(c, row) });
  });

  // The final summary the page's script swaps in when the restore ends (and its fallback's state).
  pages.get("/restores/:rid/status", (c) => {
    const row = visibleRestore(c.get("services").db, principalFor(c.get("user")), c.req.param("rid"));
    c.header("Cache-Control", "no-store");
    return c.html(c.get("services").renderer.partial("restore-status", restoreView(c, row)));
  });

  pages.post("/restores/:rid/cancel", async (c) => {
    await cancelRestore(restoreDeps(c), principalFor(c.get("user")), c.req.param("rid"), actionContext(c));
    return c.redirect(`/snapshots/restores/${c.req.param("rid")}`, 303);
  });

  pages.get("/versions", async (c) => {
    const q = parseWith(
      z.object({
        configId: id,
        p: z.string().max(100_000).optional(),
        path: z.string().max(70_000).optional(),
      }),
      c.req.query(),
    );
    const path = await resolveRequestPath(q);
    const out = await versionsOf(
      snapshotsDeps(c),
      principalFor(c.get("user")),
      q.configId,
      path,
      c.req.raw.signal,
    );
    const codec = await pathCodec();
    const token = codec.token(path);
    const items = out.items.map((v) => ({
      ...v,
      sizeText: formatBytes(v.size),
      download: `/api/snapshots/${v.snapshotId}/download?destinationId=${out.destinationId}&p=${token}`,
      browse: `/snapshots/${v.snapshotId}?destinationId=${out.destinationId}&p=${codec.token(path.replace(/\/[^/]*$/, "") || "/")}`,
    }));
    return renderPage(c, "file-versions", { title: "Versions", display: codec.display(path), items });
  });

  pages.get("/:id/dir", async (c) => {
    const q = parseWith(browseQuery, c.req.query());
    const data = await dirData(c, c.req.param("id"), q.destinationId, await resolveRequestPath(q), q.cursor);
    return c.html(
      c
        .get("services")
        .renderer.partial("snapshot-dir", { ...data, configId: c.req.query("configId") ?? "" }),
    );
  });

  pages.get("/:id/search", async (c) => {
    const q = parseWith(browseQuery.extend({ q: z.string().min(1).max(1000) }), c.req.query());
    const codec = await pathCodec();
    const page = await searchSnapshotFor(c, c.req.param("id"), q);
    const dest = `destinationId=${encodeURIComponent(q.destinationId)}`;
    const items = page.items.map((i) => ({
      ...i,
      display: codec.display(i.path),
      sizeText: i.type === "file" ? formatBytes(i.size) : "",
      download: `/api/snapshots/${page.snapshotId}/download?${dest}&p=${codec.token(i.path)}`,
    }));
    const more = page.nextCursor
      ? `/snapshots/${page.snapshotId}/search?${dest}&q=${encodeURIComponent(q.q)}&cursor=${encodeURIComponent(page.nextCursor)}`
      : null;
    return c.html(c.get("services").renderer.partial("snapshot-search", { items, more, q: q.q }));
  });

  pages.get("/:id", async (c) => {
    const q = parseWith(browseQuery, c.req.query());
    const path = await resolveRequestPath(q);
    const dir = await dirData(c, c.req.param("id"), q.destinationId, path, q.cursor);
    const configId = (c.req.query("configId") ?? "").slice(0, 64);
    return renderPage(c, "snapshot", {
      title: `Snapshot ${dir.snapshotId.slice(0, 8)}`,
      dir,
      destinationId: q.destinationId,
      token: (await pathCodec()).token(dir.path),
      configId,
    });
  });

  pages.post("/:id/restore", async (c) => {
    const form = parseWith(restoreForm, await c.req.parseBody());
    const path = await resolveRequestPath(form);
    const req = {
      destinationId: form.destinationId,
      snapshotId: c.req.param("id"),
      paths: path === "" || path === "/" ? [] : [path],
      target: form.target,
      existing: form.existing,
    };
    const { restoreId } = await startRestore(
      restoreDeps(c),
      principalFor(c.get("user")),
      req,
      actionContext(c),
    );
    return c.redirect(`/snapshots/restores/${restoreId}`, 303);
  });

  return new Hono<AppEnv>().route("/snapshots", pages);
}
