/**
 * Storage usage as pages show it (the dashboard's lazily loaded card and /reports): per
 * destination stored bytes, packs, the latest snapshot's logical size, dedup and compression
 * ratios and the monthly cost estimate, formatted for people, plus the estimated total per
 * currency. The numbers come from GET /api/storage/usage's function and its cache.
 */
import type { Context } from "hono";
import { principalFor } from "../jobs/backups.ts";
import { storageUsage } from "../jobs/storage-usage.ts";
import { formatBytes } from "../util/bytes.ts";
import type { AppEnv } from "./context.ts";

const ratio = (r: number | undefined) => (r && r > 0 ? `${r.toFixed(2)}×` : "–");

/** The principal's storage usage, one formatted row per destination, and the estimated totals. */
export async function storageRows(c: Context<AppEnv>) {
  const { db, dataDir, clock } = c.get("services");
  const usage = await storageUsage({ db, dataDir, now: clock.now() }, principalFor(c.get("user")));
  const rows = usage.items.map((u) => ({
    ...u,
    storedText: u.storedBytes === undefined ? "–" : formatBytes(u.storedBytes),
    logicalText: u.logicalBytes === undefined ? "–" : formatBytes(u.logicalBytes),
    dedup: ratio(u.dedupRatio),
    compression: ratio(u.compressionRatio),
    cost: u.monthlyCost ? `${u.monthlyCost.total.toFixed(2)} ${u.price.currency}` : "–",
  }));
  const sums = new Map<string, number>();
  for (const u of rows) {
    if (u.monthlyCost) sums.set(u.price.currency, (sums.get(u.price.currency) ?? 0) + u.monthlyCost.total);
  }
  const totals = [...sums].map(([currency, total]) => `${total.toFixed(2)} ${currency}`);
  return { rows, totals };
}
