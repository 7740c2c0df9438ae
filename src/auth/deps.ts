import type { Db } from "../db/client.ts";
import type { Clock } from "../util/clock.ts";
import type { RateLimiter } from "./rate-limit.ts";

/** What the account functions need; built once by the server (and by the CLI, with its own limiter). */
export interface AuthDeps {
  db: Db;
  clock: Clock;
  limiter: RateLimiter;
}

/** Who acts and from where, for the audit log. */
export interface ActionContext {
  ip?: string | null;
  actor?: { id: string; email: string } | null;
}

/** Runs `fn` in one IMMEDIATE transaction (the CLI and the server may write at once). */
export function inTransaction<T>(deps: { db: Db }, fn: () => T): T {
  return deps.db.$client.transaction(fn).immediate();
}
