/**
 * JSON API of notification channels, mounted at /api/notifications (docs/notifications.md):
 * channels CRUD, a test send and the delivery log. Every id is the signed-in user's own (another
 * user's id answers 404); webhook URLs show as their origin and secrets are never returned,
 * except a generated signing secret once, in the answer that created it.
 */
import { Hono } from "hono";
import { z } from "zod";
import { channelInputSchema, channelSummary, getChannel } from "../../notify/channels.ts";
import type { AppEnv } from "../context.ts";
import { errorResponse } from "../errors.ts";
import { jsonBody, parseWith } from "../forms.ts";
import { requireUser } from "../middleware/guards.ts";
import {
  channelsOf,
  deleteChannel,
  deliveriesOf,
  saveChannel,
  saveNewChannel,
  testChannel,
} from "../notify.ts";

const deliveriesQuery = z.object({
  channelId: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1, "Use 1 to 200.").max(200, "Use 1 to 200.").default(50),
});

export function notificationApiRoutes() {
  const app = new Hono<AppEnv>();
  app.use("*", requireUser());

  app.get("/channels", (c) => c.json({ items: channelsOf(c) }));

  app.post("/channels", jsonBody(channelInputSchema), (c) => {
    const { channel, generatedSecret } = saveNewChannel(c, c.req.valid("json"));
    return c.json({ channel, ...(generatedSecret ? { secret: generatedSecret } : {}) }, 201);
  });

  app.get("/channels/:id", (c) => {
    const { db } = c.get("services");
    return c.json(channelSummary(getChannel(db, c.get("user")?.id ?? "", c.req.param("id"))));
  });

  app.put("/channels/:id", jsonBody(channelInputSchema), (c) =>
    c.json(saveChannel(c, c.req.param("id"), c.req.valid("json"))),
  );

  app.delete("/channels/:id", (c) => {
    deleteChannel(c, c.req.param("id"));
    return c.body(null, 204);
  });

  app.post("/channels/:id/test", async (c) => {
    const outcome = await testChannel(c, c.req.param("id"));
    if (outcome.status === "sent") return c.json(outcome);
    return errorResponse(c, 502, `The test notification failed: ${outcome.error}`);
  });

  app.get("/deliveries", (c) => {
    const query = parseWith(deliveriesQuery, c.req.query());
    return c.json({
      items: deliveriesOf(c, {
        limit: query.limit,
        ...(query.channelId ? { channelId: query.channelId } : {}),
      }),
    });
  });

  return app;
}
