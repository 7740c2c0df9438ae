/**
 * Who may read /metrics, as an admin chose: "loopback" (the default: requests from this machine
 * that came through no proxy) or "token" (anyone sending `Authorization: Bearer <metrics token>`;
 * the token is made here, shown once, stored as SHA-256, and grants nothing else).
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import type { Db } from "../db/client.ts";
import { getSetting, setSetting } from "../db/settings.ts";

const KEY = "metrics.access";

const storedSchema = z.object({
  mode: z.enum(["loopback", "token"]),
  tokenHash: z.string().optional(),
});
export type MetricsAccess = z.output<typeof storedSchema>;

export const metricsAccessInputSchema = z.object({
  mode: z.enum(["loopback", "token"], { error: "Choose loopback or token." }),
});

export function metricsAccess(db: Db): MetricsAccess {
  const parsed = storedSchema.safeParse(getSetting(db, KEY));
  return parsed.success ? parsed.data : { mode: "loopback" };
}

/** Safe to show: the mode and whether a token exists. */
export function metricsAccessSummary(db: Db) {
  const a = metricsAccess(db);
  return { mode: a.mode, tokenSet: Boolean(a.tokenHash) };
}

export function setMetricsMode(db: Db, mode: MetricsAccess["mode"], now: number): void {
  setSetting(db, KEY, { ...metricsAccess(db), mode }, now);
}

const hash = (token: string) => createHash("sha256").update(token).digest("hex");

/** Makes a new metrics token (the old one stops working) and returns it, once. */
export function newMetricsToken(db: Db, now: number): string {
  const token = `bkm_${randomBytes(24).toString("base64url")}`;
  setSetting(db, KEY, { ...metricsAccess(db), tokenHash: hash(token) }, now);
  return token;
}

export function metricsTokenMatches(access: MetricsAccess, presented: string): boolean {
  if (!access.tokenHash) return false;
  const a = Buffer.from(hash(presented), "hex");
  const b = Buffer.from(access.tokenHash, "hex");
  return a.length === b.length && timingSafeEqual(a, b);
}
