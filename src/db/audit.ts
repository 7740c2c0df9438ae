/**
 * The audit log: who did what, when, from where. Written by auth and admin actions here, and by
 * other areas (config changes, restores) through recordAudit. Details must never hold secrets.
 */
import { and, desc, eq, lt } from "drizzle-orm";
import { newId } from "../util/ids.ts";
import type { Db } from "./client.ts";
import { auditLog } from "./schema.ts";

export type AuditRow = typeof auditLog.$inferSelect;

export interface AuditEntry {
  action: string;
  actor?: { id: string; email: string } | null;
  target?: string | null;
  ip?: string | null;
  details?: Record<string, unknown>;
}

export function recordAudit(db: Db, at: number, entry: AuditEntry): void {
  db.insert(auditLog)
    .values({
      id: newId(),
      at,
      actorId: entry.actor?.id ?? null,
      actorEmail: entry.actor?.email ?? null,
      action: entry.action,
      target: entry.target ?? null,
      ip: entry.ip ?? null,
      details: JSON.stringify(entry.details ?? {}),
    })
    .run();
}

/** Newest first; `before` (an `at` value) pages further back. */
export function listAudit(db: Db, options: { limit?: number; before?: number; actorId?: string } = {}) {
  const limit = Math.min(Math.max(options.limit ?? 100, 1), 500);
  const conditions = [
    options.before !== undefined ? lt(auditLog.at, options.before) : undefined,
    options.actorId ? eq(auditLog.actorId, options.actorId) : undefined,
  ].filter((c) => c !== undefined);
  const q = db.select().from(auditLog);
  const filtered =
    conditions.length === 0
      ? q
      : conditions.length === 1
        ? q.where(conditions[0])
        : q.where(and(...conditions));
  return filtered.orderBy(desc(auditLog.at)).limit(limit).all();
}
