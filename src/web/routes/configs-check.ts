/**
 * Inline field checks of the job form (htmx, on change): the whole form is parsed with the job
 * schema, as a save would, and the message for one field is answered. Source rows are numbered
 * as the form numbers them (blank rows are skipped by the parsed shape, so indexes are mapped back).
 */
import type { Context } from "hono";
import { configAccessProblems } from "../../auth/permissions.ts";
import {
  configInputSchema,
  fieldErrorsByPath,
  formSourceIndexes,
  formToInput,
} from "../../jobs/config-schema.ts";
import { ownerPrincipal, UNKNOWN_DESTINATION, usableDestination, visibleConfig } from "../../jobs/configs.ts";
import type { AppEnv } from "../context.ts";
import { currentPrincipal } from "./configs-shared.ts";

type Ctx = Context<AppEnv>;

/** Schema errors keyed by form field name ("sources.<form row>.path", "schedule.cronExpression"). */
function schemaErrors(form: Record<string, string>): Record<string, string> {
  const result = configInputSchema.safeParse(formToInput(form));
  if (result.success) return {};
  const rows = formSourceIndexes(form);
  const out: Record<string, string> = {};
  for (const [path, message] of Object.entries(fieldErrorsByPath(result.error))) {
    const key = path.replace(/^sources\.(\d+)\./, (_, k: string) => `sources.${rows[Number(k)] ?? k}.`);
    out[key] ??= message;
  }
  return out;
}

/** The problem with form field `field` ("" when none). `?job=<id>` names the job being edited. */
export function fieldCheck(c: Ctx, form: Record<string, string>, field: string): string {
  const errors = schemaErrors(form);
  const own = Object.entries(errors).find(([key]) => key === field || key.startsWith(`${field}.`));
  if (own) return own[1];
  if (field === "schedule.preset") return errors["schedule.cronExpression"] ?? "";
  const p = currentPrincipal(c);
  const { db } = c.get("services");
  const jobId = c.req.query("job");
  const owner = jobId ? ownerPrincipal(db, p, visibleConfig(db, p, jobId).userId) : p;
  if (/^sources\.\d+\.path$/.test(field) && (form[field] ?? "").trim() !== "") {
    return configAccessProblems(owner, { paths: [(form[field] ?? "").trim()] }).paths ?? "";
  }
  if (field === "destinationId") {
    return usableDestination(db, owner.id, (form.destinationId ?? "").trim()) ? "" : UNKNOWN_DESTINATION;
  }
  if (field.startsWith("hooks.") && (form[field] ?? "").trim() !== "") {
    return configAccessProblems(p, { paths: [], hooks: [form[field]] }).hooks ?? "";
  }
  return "";
}
