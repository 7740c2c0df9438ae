/**
 * Backup jobs as JSON: /api/configs (list, create), /api/configs/:id (read, full replace, delete)
 * and /api/configs/:id/validate. Mounted at its prefix and guarded as a whole (signed-in users).
 * Bodies are validated by the job schema, field errors keyed by path ("sources.0.path").
 */
import { zValidator } from "@hono/zod-validator";
import type { Context } from "hono";
import { Hono } from "hono";
import { z } from "zod";
import { FieldError } from "../../auth/errors.ts";
import { configInputSchema, fieldErrorsByPath } from "../../jobs/config-schema.ts";
import {
  configJson,
  createConfig,
  deleteConfig,
  setConfigEnabledFor,
  updateConfig,
  visibleConfig,
  visibleConfigs,
} from "../../jobs/configs.ts";
import type { AppEnv } from "../context.ts";
import { actionContext } from "../forms.ts";
import { requireUser } from "../middleware/guards.ts";
import { currentPrincipal, reschedule, runValidation } from "./configs-shared.ts";

type Ctx = Context<AppEnv>;

function fieldHook(result: {
  success: boolean;
  error?: { issues: readonly { path: readonly PropertyKey[]; message: string }[] };
}) {
  if (!result.success && result.error) throw new FieldError(fieldErrorsByPath(result.error));
}

const configBody = zValidator("json", configInputSchema, fieldHook);
const enabledSchema = z.object({ enabled: z.boolean({ error: "Send true or false." }) });

function json(c: Ctx, record: Parameters<typeof configJson>[1], status: 200 | 201 = 200) {
  return c.json(configJson(c.get("services").db, record), status);
}

export function configsApiRoutes() {
  const api = new Hono<AppEnv>();
  api.use("*", requireUser());

  api.get("/", (c) => {
    const { db } = c.get("services");
    const items = visibleConfigs(db, currentPrincipal(c)).map((r) => configJson(db, r));
    return c.json({ items });
  });

  api.post("/", configBody, (c) => {
    const record = createConfig(
      c.get("services"),
      currentPrincipal(c),
      c.req.valid("json"),
      actionContext(c),
    );
    reschedule(c, record.id);
    return json(c, record, 201);
  });

  api.get("/:id", (c) =>
    json(c, visibleConfig(c.get("services").db, currentPrincipal(c), c.req.param("id"))),
  );

  api.put("/:id", configBody, (c) => {
    const id = c.req.param("id");
    const record = updateConfig(
      c.get("services"),
      currentPrincipal(c),
      id,
      c.req.valid("json"),
      actionContext(c),
    );
    reschedule(c, id);
    return json(c, record);
  });

  // The list's On/Off switch: only `enabled` changes (a PUT would replace the whole job).
  api.put("/:id/enabled", zValidator("json", enabledSchema, fieldHook), (c) => {
    const id = c.req.param("id");
    const { enabled } = c.req.valid("json");
    const record = setConfigEnabledFor(c.get("services"), currentPrincipal(c), id, enabled, actionContext(c));
    reschedule(c, id);
    return json(c, record);
  });

  api.delete("/:id", (c) => {
    const id = c.req.param("id");
    deleteConfig(c.get("services"), currentPrincipal(c), id, actionContext(c));
    reschedule(c, id);
    return c.body(null, 204);
  });

  api.post("/:id/validate", async (c) => c.json(await runValidation(c, c.req.param("id"))));

  return new Hono<AppEnv>().route("/api/configs", api);
}
