/**
 * The htmx helpers of the destination form (mounted inside /destinations, behind its guard):
 * POST /check?field=F answers that field's error slot, POST /test-connection the connection
 * result, POST /buckets the bucket suggestions. Each reads the whole form.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { FieldError, ForbiddenError } from "../../auth/errors.ts";
import { fieldErrors } from "../../auth/schemas.ts";
import {
  listBuckets,
  type ProbeResult,
  probeAddress,
  testS3Connection,
} from "../../jobs/destination-probe.ts";
import { destinationInputSchema, s3ProbeSchema } from "../../jobs/destination-schema.ts";
import { localPathProblem } from "../../jobs/destinations.ts";
import type { AppEnv } from "../context.ts";
import { parseWith, readForm } from "../forms.ts";
import { principal } from "./destinations-api.ts";

type Ctx = Context<AppEnv>;

const FIELD = /^[A-Za-z]{1,32}$/;

/** The form's fields as the shared input schema expects them (only the chosen type's fields). */
export function formInput(form: Record<string, string>): Record<string, string | undefined> {
  const base = { type: form.type, name: form.name, password: form.password };
  if (form.type === "local") return { ...base, path: form.path };
  const s3 = [
    "bucket",
    "prefix",
    "region",
    "endpoint",
    "accessKeyId",
    "secretAccessKey",
    "storageClass",
    "caCertificate",
  ];
  return { ...base, ...Object.fromEntries(s3.map((k) => [k, form[k]])) };
}

/** Field problems of the form as it stands (shape, then a folder outside the user's roots). */
function formProblems(c: Ctx, form: Record<string, string>): Record<string, string> {
  const parsed = destinationInputSchema.safeParse(formInput(form));
  if (!parsed.success) return fieldErrors(parsed.error);
  const input = parsed.data;
  const problem = input.type === "local" ? localPathProblem(principal(c), input.path) : null;
  return problem === null ? {} : { path: problem };
}

function probeInput(form: Record<string, string>) {
  const keys = [
    "region",
    "endpoint",
    "accessKeyId",
    "secretAccessKey",
    "caCertificate",
    "bucket",
    "prefix",
    "destinationId",
  ];
  return parseWith(s3ProbeSchema, Object.fromEntries(keys.map((k) => [k, form[k]])));
}

async function runTest(c: Ctx, form: Record<string, string>): Promise<ProbeResult> {
  try {
    if (form.type === "local") {
      const problems = formProblems(c, form);
      if (problems.path) return settingsFailure(problems.path);
      return await probeAddress(formInput(form).path as string, {});
    }
    return await testS3Connection(c.get("services"), principal(c), probeInput(form));
  } catch (error) {
    if (error instanceof FieldError || error instanceof ForbiddenError) return settingsFailure(error.message);
    throw error;
  }
}

function settingsFailure(message: string): ProbeResult {
  return { ok: false, step: "settings", code: "InvalidInput", message, steps: [] };
}

export function destinationHelperRoutes() {
  const app = new Hono<AppEnv>();

  app.post("/check", async (c) => {
    const field = c.req.query("field") ?? "";
    if (!FIELD.test(field)) return c.body(null, 400);
    const error = formProblems(c, await readForm(c))[field];
    return c.html(c.get("services").renderer.partial("destination-error", { id: field, error }));
  });

  app.post("/test-connection", async (c) => {
    const result = await runTest(c, await readForm(c));
    return c.html(c.get("services").renderer.partial("destination-test", { result }));
  });

  app.post("/buckets", async (c) => {
    const form = await readForm(c);
    const { renderer } = c.get("services");
    try {
      const result = await listBuckets(c.get("services"), principal(c), probeInput(form));
      const data = result.ok ? { buckets: result.buckets } : { error: `${result.code}: ${result.message}` };
      return c.html(renderer.partial("destination-buckets", data));
    } catch (error) {
      if (!(error instanceof FieldError)) throw error;
      return c.html(renderer.partial("destination-buckets", { error: error.message }));
    }
  });

  return app;
}
