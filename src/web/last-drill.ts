/** The "last drill" cell of a job table (dashboard): the newest ended restore drill per job. */
import type { Db } from "../db/client.ts";
import { latestDrillsByConfig } from "../db/drills.ts";
import { formatDate } from "./render.ts";

export interface LastDrillCell {
  drillId: string | null;
  /** "passed", "failed", or "never". */
  drill: string;
  drillAt: string;
}

export function withLastDrill<T extends { id: string }>(db: Db, rows: T[]): (T & LastDrillCell)[] {
  const drills = latestDrillsByConfig(
    db,
    rows.map((r) => r.id),
  );
  return rows.map((r) => {
    const d = drills.get(r.id);
    if (!d) return { ...r, drillId: null, drill: "never", drillAt: "" };
    return {
      ...r,
      drillId: d.id,
      drill: d.status === "completed" ? "passed" : d.status,
      drillAt: formatDate(d.startTime),
    };
  });
}
