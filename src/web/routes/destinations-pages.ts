/**
 * Destination pages under /destinations (signed-in users): list, add (then the passphrase-kept
 * step or the snapshots found), edit, delete (refused while jobs use it), and the htmx helpers of
 * the form (inline field check, test connection, bucket list). The same domain functions as the
 * JSON API do the work. Secrets are never echoed into a page, not even after a failed submit.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { isAdmin } from "../../auth/permissions.ts";
import { jobsUsingDestination, storedSettings } from "../../db/destinations.ts";
import { findUserById } from "../../db/users.ts";
import {
  type DestinationInput,
  destinationInputSchema,
  destinationJson,
  STORAGE_CLASSES,
} from "../../jobs/destination-schema.ts";
import {
  changeDestination,
  confirmPassphraseKept,
  createDestination,
  DestinationInUseError,
  deleteDestination,
  getDestination,
  listDestinations,
} from "../../jobs/destinations.ts";
import type { AppEnv } from "../context.ts";
import { actionContext, checkbox, formFailure, parseWith, readForm, renderPage } from "../forms.ts";
import { requireUser } from "../middleware/guards.ts";
import { destinationsApiRoutes, principal } from "./destinations-api.ts";
import { destinationHelperRoutes, formInput } from "./destinations-htmx.ts";
import { recoveryApiRoutes, recoveryPageRoutes } from "./destinations-recovery.ts";
import { s3ApiRoutes } from "./s3-api.ts";

type Ctx = Context<AppEnv>;

/** Non-secret form fields, echoed back after a failed submit. */
const SHOWN = [
  "type",
  "name",
  "endpoint",
  "region",
  "accessKeyId",
  "bucket",
  "prefix",
  "storageClass",
  "caCertificate",
  "path",
];

function parseForm(form: Record<string, string>): DestinationInput {
  return parseWith(destinationInputSchema, formInput(form));
}

function shownValues(form: Record<string, string>): Record<string, string> {
  return Object.fromEntries(SHOWN.filter((k) => form[k] !== undefined).map((k) => [k, form[k] as string]));
}

function renderForm(
  c: Ctx,
  data: { id?: string; values: Record<string, unknown>; errors?: Record<string, string> },
  status: ContentfulStatusCode = 200,
) {
  const destination = data.id
    ? destinationJson(getDestination(c.get("services").db, principal(c), data.id))
    : null;
  return renderPage(
    c,
    "destination-form",
    {
      title: destination ? `Edit ${destination.name}` : "Add a destination",
      destination,
      values: data.values,
      errors: data.errors ?? {},
      storageClasses: STORAGE_CLASSES,
      isAdmin: isAdmin(principal(c)),
    },
    status,
  );
}

function editValues(c: Ctx, id: string): Record<string, unknown> {
  const row = getDestination(c.get("services").db, principal(c), id);
  const { kind, ...settings } = storedSettings(row);
  return { type: kind, name: row.name, ...settings };
}

function listPage(c: Ctx) {
  const { db } = c.get("services");
  const p = principal(c);
  const rows = listDestinations(db, p).map((r) => ({
    ...destinationJson(r),
    createdAt: r.createdAt,
    owner: r.userId === p.id ? "you" : (findUserById(db, r.userId)?.email ?? "?"),
  }));
  return renderPage(c, "destinations", {
    title: "Destinations",
    rows,
    showOwner: rows.some((r) => r.owner !== "you"),
  });
}

function deletePage(c: Ctx, id: string, status: 200 | 409 = 200) {
  const { db } = c.get("services");
  const row = getDestination(db, principal(c), id);
  const jobs = jobsUsingDestination(db, row.id);
  return renderPage(
    c,
    "destination-delete",
    { title: `Delete ${row.name}`, destination: destinationJson(row), jobs },
    status,
  );
}

export function destinationPageRoutes() {
  const pages = new Hono<AppEnv>();
  pages.use("*", requireUser());
  pages.route("/", destinationHelperRoutes());

  pages.get("/", listPage);
  pages.get("/new", (c) => renderForm(c, { values: { type: "s3", region: "us-east-1" } }));

  pages.post("/", async (c) => {
    const form = await readForm(c);
    try {
      const made = await createDestination(
        c.get("services"),
        principal(c),
        parseForm(form),
        actionContext(c),
      );
      const { generatedPassword, ...repository } = made.repository;
      return renderPage(c, "destination-created", {
        title: repository.created ? "Keep this passphrase" : "Attached",
        destination: destinationJson(made.row),
        repository,
        generatedPassword,
      });
    } catch (error) {
      const { status, errors } = formFailure(c, error);
      return renderForm(c, { values: shownValues(form), errors }, status);
    }
  });

  pages.post("/:id/confirm", async (c) => {
    const form = await readForm(c);
    const id = c.req.param("id");
    if (!checkbox(form, "kept")) {
      const row = getDestination(c.get("services").db, principal(c), id);
      const errors = {
        kept: "Tick the box once the passphrase is stored safely. If you did not keep it, delete this destination (nothing is backed up into it yet) and add it again.",
      };
      const destination = destinationJson(row);
      const repository = { created: true, repositoryId: row.repositoryId, encrypted: true, snapshots: [] };
      return renderPage(
        c,
        "destination-created",
        { title: "Keep this passphrase", destination, repository, errors },
        400,
      );
    }
    confirmPassphraseKept(c.get("services"), principal(c), id, actionContext(c));
    return c.redirect("/destinations?notice=destination-created", 303);
  });

  pages.get("/:id/edit", (c) =>
    renderForm(c, { id: c.req.param("id"), values: editValues(c, c.req.param("id")) }),
  );

  pages.post("/:id", async (c) => {
    const form = await readForm(c);
    const id = c.req.param("id");
    try {
      await changeDestination(c.get("services"), principal(c), id, parseForm(form), actionContext(c));
      return c.redirect("/destinations?notice=destination-saved", 303);
    } catch (error) {
      const { status, errors } = formFailure(c, error);
      return renderForm(c, { id, values: shownValues(form), errors }, status);
    }
  });

  pages.get("/:id/delete", (c) => deletePage(c, c.req.param("id")));

  pages.post("/:id/delete", (c) => {
    const id = c.req.param("id");
    try {
      deleteDestination(c.get("services"), principal(c), id, actionContext(c));
      return c.redirect("/destinations?notice=destination-deleted", 303);
    } catch (error) {
      if (error instanceof DestinationInUseError) return deletePage(c, id, 409);
      throw error;
    }
  });

  return pages;
}

/** Everything of the destinations area, each part mounted at its own prefix behind its own guard. */
export function destinationAreas() {
  const app = new Hono<AppEnv>();
  app.route("/destinations", destinationPageRoutes());
  app.route("/destinations", recoveryPageRoutes());
  app.route("/api/destinations", destinationsApiRoutes());
  app.route("/api/destinations", recoveryApiRoutes());
  app.route("/api/s3", s3ApiRoutes());
  app.get("/settings/s3", (c) => c.redirect("/destinations", 301));
  return app;
}
