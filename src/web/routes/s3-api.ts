/**
 * S3 helpers of the destination form, as JSON under /api/s3 (signed-in users):
 * - POST /validate: the settings' shape → `{ok:true}` or 400 with field errors;
 * - POST /test-connection: list, write, read back and delete a probe object →
 *   `{ok:true,steps}` or `{ok:false,step,code,message,steps}` (200 either way: the test ran);
 * - GET /buckets?destinationId=ID (a stored destination's credentials) or POST /buckets with the
 *   connection in the body (credentials never travel in a URL) → `{buckets:[{name,createdAt}]}`.
 * A body with `destinationId` and no secret key uses the stored key (same access key id only).
 */

import type { Context } from "hono";
import { Hono } from "hono";
import { listBuckets, testS3Connection } from "../../jobs/destination-probe.ts";
import { destinationInputSchema, type S3ProbeInput, s3ProbeSchema } from "../../jobs/destination-schema.ts";
import type { AppEnv } from "../context.ts";
import { jsonBody, parseWith } from "../forms.ts";
import { requireUser } from "../middleware/guards.ts";
import { principal } from "./destinations-api.ts";

async function bucketsAnswer(c: Context<AppEnv>, input: S3ProbeInput) {
  const result = await listBuckets(c.get("services"), principal(c), input);
  if (result.ok) return c.json({ buckets: result.buckets });
  return c.json({ error: { status: 502, message: result.message, code: result.code } }, 502);
}

export function s3ApiRoutes() {
  const api = new Hono<AppEnv>();
  api.use("*", requireUser());

  // The form's type defaults to s3 here; a complete destination (name included) is checked.
  api.post("/validate", async (c) => {
    const body = (await c.req.json().catch(() => null)) as Record<string, unknown> | null;
    parseWith(destinationInputSchema, { type: "s3", ...(body ?? {}) });
    return c.json({ ok: true });
  });

  api.post("/test-connection", jsonBody(s3ProbeSchema), async (c) => {
    return c.json(await testS3Connection(c.get("services"), principal(c), c.req.valid("json")));
  });

  api.get("/buckets", (c) =>
    bucketsAnswer(c, parseWith(s3ProbeSchema, { destinationId: c.req.query("destinationId") })),
  );
  api.post("/buckets", jsonBody(s3ProbeSchema), (c) => bucketsAnswer(c, c.req.valid("json")));

  return api;
}
