/**
 * What storing a destination costs: a price per GB-month and per 1,000 requests (PUT-class and
 * GET-class) the user sets per destination (settings table, key `storage.price.<destinationId>`),
 * defaulting to the published list prices of the destination's S3 storage class (AWS us-east-1,
 * USD, late 2026; a local folder costs nothing). The estimate is a guide, not a bill: requests
 * are estimated from the last 30 days of runs (one PUT per 16 MiB uploaded plus a few per run).
 */
import { z } from "zod";
import type { Db } from "../db/client.ts";
import { type DestinationRow, storedSettings } from "../db/destinations.ts";
import { getSetting, setSetting } from "../db/settings.ts";

export const priceSchema = z.object({
  perGbMonth: z.coerce.number().min(0).max(1000),
  putPer1000: z.coerce.number().min(0).max(1000),
  getPer1000: z.coerce.number().min(0).max(1000),
  currency: z.string().trim().min(1).max(8).default("USD"),
});

export type Price = z.output<typeof priceSchema> & { source: "default" | "user"; storageClass: string };

/** List prices per S3 storage class (per GB-month, per 1,000 PUT/COPY/POST/LIST, per 1,000 GET). */
export const CLASS_PRICES: Record<string, { perGbMonth: number; putPer1000: number; getPer1000: number }> = {
  STANDARD: { perGbMonth: 0.023, putPer1000: 0.005, getPer1000: 0.0004 },
  INTELLIGENT_TIERING: { perGbMonth: 0.023, putPer1000: 0.005, getPer1000: 0.0004 },
  STANDARD_IA: { perGbMonth: 0.0125, putPer1000: 0.01, getPer1000: 0.001 },
  ONEZONE_IA: { perGbMonth: 0.01, putPer1000: 0.01, getPer1000: 0.001 },
  GLACIER_IR: { perGbMonth: 0.004, putPer1000: 0.02, getPer1000: 0.01 },
  GLACIER: { perGbMonth: 0.0036, putPer1000: 0.03, getPer1000: 0.0004 },
  DEEP_ARCHIVE: { perGbMonth: 0.00099, putPer1000: 0.05, getPer1000: 0.0004 },
  LOCAL: { perGbMonth: 0, putPer1000: 0, getPer1000: 0 },
};

function keyOf(destinationId: string): string {
  return `storage.price.${destinationId}`;
}

function classOf(row: DestinationRow): string {
  const s = storedSettings(row);
  if (s.kind === "local") return "LOCAL";
  return (s.storageClass ?? "STANDARD").toUpperCase();
}

/** The destination's price: the user's when set, else its storage class's default. */
export function destinationPrice(db: Db, row: DestinationRow): Price {
  const storageClass = classOf(row);
  const stored = priceSchema.safeParse(getSetting(db, keyOf(row.id)));
  if (stored.success) return { ...stored.data, source: "user", storageClass };
  const d = CLASS_PRICES[storageClass] ?? CLASS_PRICES.STANDARD;
  return { ...(d as (typeof CLASS_PRICES)[string]), currency: "USD", source: "default", storageClass };
}

export function setDestinationPrice(db: Db, destinationId: string, price: unknown, now: number): void {
  setSetting(db, keyOf(destinationId), priceSchema.parse(price), now);
}

/** Back to the storage class's default. */
export function clearDestinationPrice(db: Db, destinationId: string, now: number): void {
  setSetting(db, keyOf(destinationId), null, now);
}

const GB = 1024 ** 3;
const PUT_BYTES = 16 * 1024 * 1024;

/** Monthly estimate from the stored bytes and last 30 days' activity (runs, bytes uploaded). */
export function monthlyCost(
  price: Price,
  storedBytes: number,
  activity: { runs: number; bytesUploaded: number },
) {
  const storage = (storedBytes / GB) * price.perGbMonth;
  const puts = Math.ceil(activity.bytesUploaded / PUT_BYTES) + activity.runs * 4;
  const gets = activity.runs * 10;
  const requests = (puts / 1000) * price.putPer1000 + (gets / 1000) * price.getPer1000;
  const round = (n: number) => Math.round(n * 10_000) / 10_000;
  return { storage: round(storage), requests: round(requests), total: round(storage + requests), puts, gets };
}
