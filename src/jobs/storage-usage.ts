/**
 * `GET /api/storage/usage`: per destination the principal may see, what its repository stores
 * (pack bytes and count), the logical size of its latest snapshot, the dedup and compression
 * ratios — the numbers of `backapp stats` — and a monthly cost estimate (storage-prices.ts).
 * Reading the stats walks the snapshots' trees, so a result is kept until a run into that
 * destination ends (keyed by its newest ended run). An unreachable destination reports its error.
 */
import { desc, eq } from "drizzle-orm";
import type { Principal } from "../auth/permissions.ts";
import type { Db } from "../db/client.ts";
import { type DestinationRow, listDestinationRows } from "../db/destinations.ts";
import { destinationActivity } from "../db/report-queries.ts";
import { backupLogs } from "../db/schema.ts";
import { destinationPrice, monthlyCost, type Price } from "./storage-prices.ts";

const DAY = 86_400_000;

export interface RepoNumbers {
  storedBytes: number;
  objects: number;
  snapshots: number;
  latestSnapshot: string | null;
  logicalBytes: number;
  latestFiles: number;
  totalLogicalBytes: number;
  uniqueBytes: number;
  dedupRatio: number;
  compressionRatio: number;
}

export interface DestinationUsage extends Partial<RepoNumbers> {
  destinationId: string;
  name: string;
  type: string;
  error: string | null;
  price: Price;
  monthlyCost: ReturnType<typeof monthlyCost> | null;
}

const cache = new Map<string, { key: string; numbers: RepoNumbers }>();

function cacheKey(db: Db, destinationId: string): string {
  const row = db
    .select({ id: backupLogs.id, end: backupLogs.endTime })
    .from(backupLogs)
    .where(eq(backupLogs.destinationId, destinationId))
    .orderBy(desc(backupLogs.endTime))
    .limit(1)
    .get();
  return `${row?.id ?? ""}:${row?.end ?? ""}`;
}

async function readNumbers(deps: { db: Db; dataDir: string }, dest: DestinationRow): Promise<RepoNumbers> {
  const key = cacheKey(deps.db, dest.id);
  const hit = cache.get(dest.id);
  if (hit && hit.key === key) return hit.numbers;
  const { repositoryTargetSpec, openSpecRepository } = await import("./repository-access.ts");
  const { repositoryStats } = await import("../engine/stats.ts");
  const repo = await openSpecRepository(repositoryTargetSpec(deps, dest.id), { lock: "shared" });
  try {
    const s = await repositoryStats(repo, { snapshots: await repo.listSnapshots() });
    const numbers: RepoNumbers = {
      storedBytes: s.storedSize,
      objects: s.packs,
      snapshots: s.snapshots,
      latestSnapshot: s.latest.id,
      logicalBytes: s.latest.size,
      latestFiles: s.latest.files,
      totalLogicalBytes: s.totalSize,
      uniqueBytes: s.uniqueSize,
      dedupRatio: s.dedupRatio,
      compressionRatio: s.compressionRatio,
    };
    cache.set(dest.id, { key, numbers });
    return numbers;
  } finally {
    await repo.close();
  }
}

export async function storageUsage(
  deps: { db: Db; dataDir: string; now: number },
  p: Principal,
): Promise<{ items: DestinationUsage[] }> {
  // One's own destinations (an admin's too: the report is about what one pays for).
  const rows = listDestinationRows(deps.db, p.id);
  const items: DestinationUsage[] = [];
  for (const dest of rows) {
    const price = destinationPrice(deps.db, dest);
    const base = { destinationId: dest.id, name: dest.name, type: dest.kind, price };
    try {
      const n = await readNumbers(deps, dest);
      const activity = destinationActivity(deps.db, dest.id, deps.now - 30 * DAY);
      items.push({ ...base, ...n, error: null, monthlyCost: monthlyCost(price, n.storedBytes, activity) });
    } catch (e) {
      items.push({ ...base, error: (e as Error).message, monthlyCost: null });
    }
  }
  return { items };
}
