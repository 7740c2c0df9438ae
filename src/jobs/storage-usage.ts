/**
 * `GET /api/storage/usage`: per destination the principal may see, what its repository stores
 * (pack bytes and count), the logical size of its latest snapshot, the dedup and compression
 * ratios — the numbers of `backapp stats` — and a monthly cost estimate (storage-prices.ts).
 * Reading the stats walks the snapshots' trees (decrypting every tree), so it runs in a child
 * process off the event loop, and a result is kept until a run into that destination ends (keyed
 * by its newest ended run). An unreachable destination reports its error.
 */
import { desc, eq } from "drizzle-orm";
import type { Principal } from "../auth/permissions.ts";
import type { Db } from "../db/client.ts";
import { type DestinationRow, listDestinationRows } from "../db/destinations.ts";
import { destinationActivity } from "../db/report-queries.ts";
import { backupLogs } from "../db/schema.ts";
import type { RepoNumbers, StatsSpec } from "./download-protocol.ts";
import { destinationPrice, monthlyCost, type Price } from "./storage-prices.ts";

const DAY = 86_400_000;

export interface DestinationUsage extends Partial<RepoNumbers> {
  destinationId: string;
  name: string;
  type: string;
  error: string | null;
  price: Price;
  monthlyCost: ReturnType<typeof monthlyCost> | null;
}

const cache = new Map<string, { key: string; numbers: RepoNumbers }>();
const inFlight = new Map<string, Promise<RepoNumbers>>();

export interface UsageDeps {
  db: Db;
  dataDir: string;
  /** The child's command line (default: this program's `__run`). */
  childCommand?: string[];
}

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

/** The numbers, read by a child process (`backapp __run`, download-child.ts): off the event loop. */
async function statsInChild(deps: UsageDeps, dest: DestinationRow): Promise<RepoNumbers> {
  const { repositoryTargetSpec } = await import("./repository-access.ts");
  const { startChildRun } = await import("./run-process.ts");
  const command = deps.childCommand ?? (await import("./run-command.ts")).runChildCommand();
  const spec: StatsSpec = { kind: "stats", target: repositoryTargetSpec(deps, dest.id) };
  let numbers: RepoNumbers | null = null;
  let failure = "";
  const child = startChildRun(command, spec, (m) => {
    if (m.type === "stats") numbers = m.numbers;
    else if (m.type === "failed") failure = m.message;
  });
  const { exitCode, stderrTail } = await child.done;
  if (numbers) return numbers;
  throw new Error(
    failure || `the stats process ended (exit code ${exitCode}): ${stderrTail.trim().slice(-300)}`,
  );
}

async function readNumbers(deps: UsageDeps, dest: DestinationRow): Promise<RepoNumbers> {
  const key = cacheKey(deps.db, dest.id);
  const hit = cache.get(dest.id);
  if (hit && hit.key === key) return hit.numbers;
  // Two requests at once share one child.
  const flight = `${dest.id}\0${key}`;
  let reading = inFlight.get(flight);
  if (!reading) {
    reading = statsInChild(deps, dest).finally(() => inFlight.delete(flight));
    inFlight.set(flight, reading);
  }
  const numbers = await reading;
  cache.set(dest.id, { key, numbers });
  return numbers;
}

export async function storageUsage(
  deps: UsageDeps & { now: number },
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
