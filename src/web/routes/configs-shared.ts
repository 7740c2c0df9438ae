/** What the jobs pages and the jobs API share: the principal, rescheduling, validation. */
import type { Context } from "hono";
import { type Principal, principalOf } from "../../auth/permissions.ts";
import { ownerPrincipal, visibleConfig } from "../../jobs/configs.ts";
import { type ValidationReport, validateConfig } from "../../jobs/configs-validate.ts";
import { NotFoundError } from "../../util/errors.ts";
import type { AppEnv } from "../context.ts";

type Ctx = Context<AppEnv>;

/** Tells the scheduler a job was created, changed or deleted. */
export function reschedule(c: Ctx, id: string): void {
  c.get("services").jobs.reschedule(id);
}

export function currentPrincipal(c: Ctx): Principal {
  const user = c.get("user");
  if (!user) throw new NotFoundError("not signed in");
  return principalOf(user);
}

/**
 * Validates a saved job for the signed-in user (404 for another user's id). Paths are judged
 * against the job owner's roots; the scan stops when the request is aborted.
 */
export async function runValidation(c: Ctx, id: string): Promise<ValidationReport> {
  const services = c.get("services");
  const actor = currentPrincipal(c);
  const job = visibleConfig(services.db, actor, id);
  const owner = ownerPrincipal(services.db, actor, job.userId);
  return validateConfig(services, owner, job, { signal: c.req.raw.signal });
}
