/**
 * Destinations as JSON: /api/destinations (list, create) and /api/destinations/:id (read, full
 * replace, delete). Mounted at its prefix and guarded as a whole (signed-in users). Answers are
 * the Destination JSON (src/jobs/destination-schema.ts): secrets are accepted, never answered;
 * a create answer carries `generatedPassword` once, when backapp generated the passphrase.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { principalOf } from "../../auth/permissions.ts";
import { destinationInputSchema, destinationJson } from "../../jobs/destination-schema.ts";
import {
  changeDestination,
  createDestination,
  DestinationInUseError,
  deleteDestination,
  getDestination,
  listDestinations,
} from "../../jobs/destinations.ts";
import type { AppEnv } from "../context.ts";
import { actionContext, jsonBody } from "../forms.ts";
import { requireUser } from "../middleware/guards.ts";

type Ctx = Context<AppEnv>;

/** The signed-in user as a principal (the guard ran, so there is one). */
export function principal(c: Ctx) {
  const user = c.get("user");
  if (!user) throw new Error("destinations: no user after requireUser");
  return principalOf(user);
}

/** 409 naming the jobs that still use the destination. */
export function inUseResponse(c: Ctx, error: DestinationInUseError) {
  return c.json({ error: { status: 409, message: error.message, jobs: error.jobs } }, 409);
}

export function destinationsApiRoutes() {
  const api = new Hono<AppEnv>();
  api.use("*", requireUser());

  api.get("/", (c) => {
    const items = listDestinations(c.get("services").db, principal(c)).map(destinationJson);
    return c.json({ items });
  });

  api.post("/", jsonBody(destinationInputSchema), async (c) => {
    const made = await createDestination(
      c.get("services"),
      principal(c),
      c.req.valid("json"),
      actionContext(c),
    );
    const { generatedPassword, ...repository } = made.repository;
    return c.json(
      {
        ...destinationJson(made.row),
        repository,
        ...(generatedPassword !== null ? { generatedPassword } : {}),
      },
      201,
    );
  });

  api.get("/:id", (c) => {
    return c.json(destinationJson(getDestination(c.get("services").db, principal(c), c.req.param("id"))));
  });

  api.put("/:id", jsonBody(destinationInputSchema), async (c) => {
    const row = await changeDestination(
      c.get("services"),
      principal(c),
      c.req.param("id"),
      c.req.valid("json"),
      actionContext(c),
    );
    return c.json(destinationJson(row));
  });

  api.delete("/:id", (c) => {
    try {
      deleteDestination(c.get("services"), principal(c), c.req.param("id"), actionContext(c));
      return c.body(null, 204);
    } catch (error) {
      if (error instanceof DestinationInUseError) return inUseResponse(c, error);
      throw error;
    }
  });
  return api;
}
