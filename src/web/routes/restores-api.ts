/**
 * /api/restores: start a restore (202 {restoreId}; queued like a backup, run in a child process),
 * read it, follow it live over SSE (the backups' `progress` events, then `done` with the restore's
 * JSON), cancel it. Only its owner or an admin sees it (others: 404).
 */
import { type Context, Hono } from "hono";
import { z } from "zod";
import { CONTROL } from "../../auth/schemas.ts";
import type { BackupLogRow } from "../../db/backup-logs.ts";
import { principalFor } from "../../jobs/backups.ts";
import {
  cancelRestore,
  type RestoreDeps,
  restoreJson,
  startRestore,
  visibleRestore,
} from "../../jobs/restores.ts";
import { browseCache } from "../../jobs/snapshots.ts";
import type { AppEnv } from "../context.ts";
import { actionContext, jsonBody } from "../forms.ts";
import { requireUser } from "../middleware/guards.ts";
import { dispatchDeps } from "../notify.ts";
import { type RunView, runFeed } from "../run-feed.ts";
import { progressData } from "../run-tracker.ts";
import { liveStream } from "../sse.ts";

export const restoreSchema = z.object({
  destinationId: z.string().min(1).max(64),
  snapshotId: z.string().min(1).max(64),
  paths: z.array(z.string().max(70_000)).max(1000).default([]),
  // A NUL or control character can never be part of a real folder: refuse it here (400), not in the
  // restore process, where it would surface as a failed run.
  target: z
    .string()
    .min(1)
    .max(4096)
    .refine((t) => !CONTROL.test(t), "Use a folder path without control characters."),
  existing: z.enum(["skip", "overwrite", "rename"]).default("skip"),
});

export function restoreDeps(c: Context<AppEnv>): RestoreDeps {
  const s = c.get("services");
  return {
    db: s.db,
    dataDir: s.dataDir,
    clock: s.clock,
    bus: s.events,
    logger: s.logger,
    jobs: s.jobs,
    browse: browseCache(),
    notify: dispatchDeps(s),
  };
}

const jsonView: RunView = {
  progress: (state, row) => ({
    event: "progress",
    id: String(state.at),
    data: JSON.stringify(progressData(state, row)),
  }),
  done: (row: BackupLogRow) => [{ event: "done", id: "done", data: JSON.stringify(restoreJson(row)) }],
};

export function restoresApiRoutes() {
  const api = new Hono<AppEnv>();
  api.use("*", requireUser());

  api.post("/", jsonBody(restoreSchema), async (c) => {
    const body = c.req.valid("json");
    const out = await startRestore(restoreDeps(c), principalFor(c.get("user")), body, actionContext(c));
    return c.json(out, 202);
  });

  api.get("/:id", (c) =>
    c.json(restoreJson(visibleRestore(c.get("services").db, principalFor(c.get("user")), c.req.param("id")))),
  );

  api.get("/:id/events", (c) => {
    const p = principalFor(c.get("user"));
    const row = visibleRestore(c.get("services").db, p, c.req.param("id"));
    return liveStream(c, p.id, runFeed(c.get("services"), row.id, jsonView));
  });

  api.post("/:id/cancel", async (c) => {
    const p = principalFor(c.get("user"));
    const cancelled = await cancelRestore(restoreDeps(c), p, c.req.param("id"), actionContext(c));
    return c.json({
      cancelled,
      restore: restoreJson(visibleRestore(c.get("services").db, p, c.req.param("id"))),
    });
  });

  return new Hono<AppEnv>().route("/api/restores", api);
}
