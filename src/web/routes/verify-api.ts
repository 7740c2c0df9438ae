/**
 * Verification from the web: `POST /api/destinations/:id/verify` (a repository check, optional
 * `readDataPct`) and `POST /api/configs/:id/drill` (a restore drill) answer 202 {logId}; the
 * buttons on the destinations and jobs pages post the same actions as forms and land on the run
 * page. Another user's id is 404. The run itself goes through src/jobs (verification.ts).
 */
import { type Context, Hono } from "hono";
import { z } from "zod";
import { principalFor } from "../../jobs/backups.ts";
import {
  setVerifySetting,
  type VerifySettingName,
  verifySettings,
  verifySettingsPatch,
} from "../../jobs/verify-settings.ts";
import type { AppEnv } from "../context.ts";
import { actionContext, parseWith } from "../forms.ts";
import { requireAdmin, requireUser } from "../middleware/guards.ts";

const verifyBody = z.object({ readDataPct: z.number().min(0).max(100).optional() }).strict();

async function jsonOrEmpty(c: Context<AppEnv>): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

function verify(c: Context<AppEnv>, readDataPct?: number) {
  const p = principalFor(c.get("user"));
  return c.get("services").verify.verifyNow(p, c.req.param("id") ?? "", { readDataPct }, actionContext(c));
}

function drill(c: Context<AppEnv>) {
  const p = principalFor(c.get("user"));
  return c.get("services").verify.drillNow(p, c.req.param("id") ?? "", actionContext(c));
}

export function verifyRoutes() {
  const app = new Hono<AppEnv>();
  for (const path of [
    "/api/destinations/:id/verify",
    "/api/configs/:id/drill",
    "/destinations/:id/verify",
    "/configs/:id/drill",
  ]) {
    app.use(path, requireUser());
  }
  app.post("/api/destinations/:id/verify", async (c) => {
    const body = parseWith(verifyBody, await jsonOrEmpty(c));
    return c.json(verify(c, body.readDataPct), 202);
  });
  app.post("/api/configs/:id/drill", (c) => c.json(drill(c), 202));
  // Schedules and drill sizes (docs/verification-and-reports.md): anyone signed in reads, admins change.
  app.use("/api/verification/settings", requireUser());
  app.get("/api/verification/settings", (c) => c.json(verifySettings(c.get("services").db)));
  app.put("/api/verification/settings", requireAdmin(), async (c) => {
    const { db, clock } = c.get("services");
    const patch = parseWith(verifySettingsPatch, await jsonOrEmpty(c));
    for (const [name, value] of Object.entries(patch))
      setVerifySetting(db, name as VerifySettingName, value, clock.now());
    return c.json(verifySettings(db));
  });
  // Form buttons (no JavaScript needed): follow the run on its page.
  app.post("/destinations/:id/verify", (c) =>
    c.redirect(`/backups/${encodeURIComponent(verify(c).logId)}`, 303),
  );
  app.post("/configs/:id/drill", (c) => c.redirect(`/backups/${encodeURIComponent(drill(c).logId)}`, 303));
  return app;
}
