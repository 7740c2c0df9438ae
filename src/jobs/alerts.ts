/**
 * What the alerts API and page share: whose alerts a principal sees (their own; an admin may
 * name a user), acknowledging one (another user's id is "not found") or all, each audited.
 */
import { audit } from "../auth/accounts.ts";
import type { ActionContext } from "../auth/deps.ts";
import { canSee, type Principal } from "../auth/permissions.ts";
import {
  type AlertQuery,
  type AlertRow,
  acknowledgeAlert,
  acknowledgeAllAlerts,
  findAlert,
  listAlerts,
} from "../db/alerts.ts";
import type { Db } from "../db/client.ts";
import type { Clock } from "../util/clock.ts";
import { NotFoundError } from "../util/errors.ts";

export interface AlertsDeps {
  db: Db;
  clock: Clock;
}

/** The principal's alerts, newest first (always one user's: their own). */
export function visibleAlerts(db: Db, p: Principal, query: Omit<AlertQuery, "userId">) {
  return listAlerts(db, { ...query, userId: p.id });
}

export function visibleAlert(db: Db, p: Principal, id: string): AlertRow {
  const row = findAlert(db, id);
  if (!row || !canSee(p, row.userId)) throw new NotFoundError("alert not found");
  return row;
}

/** Acknowledges one alert `p` may see (idempotent); audited the first time. */
export function acknowledge(deps: AlertsDeps, p: Principal, id: string, ctx: ActionContext): AlertRow {
  const row = visibleAlert(deps.db, p, id);
  if (row.acknowledged) return row;
  const updated = acknowledgeAlert(deps.db, row.id) ?? row;
  audit(deps, "alert.acknowledge", { ...ctx, target: `alert:${row.id}`, details: { kind: row.kind } });
  return updated;
}

/** Acknowledges all of `p`'s unresolved alerts; returns how many changed. */
export function acknowledgeAll(deps: AlertsDeps, p: Principal, ctx: ActionContext): number {
  const n = acknowledgeAllAlerts(deps.db, p.id);
  if (n > 0) audit(deps, "alert.acknowledge_all", { ...ctx, target: `user:${p.id}`, details: { count: n } });
  return n;
}
