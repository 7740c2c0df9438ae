import { afterEach, describe, expect, it } from "vitest";
import { listOpenAlerts, raiseAlert, resolveAlerts } from "../../src/db/alerts.ts";
import { seededDb } from "../helpers/job-rows.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function setup() {
  return seededDb(cleanups);
}

describe("alerts", () => {
  it("keeps one open row per ongoing problem and counts repeats", () => {
    const { db, user, job } = setup();
    const key = { kind: "failed_run" as const, configId: job.id };
    const first = raiseAlert(db, 1000, { ...key, userId: user.id, type: "failure", message: "boom" });
    const again = raiseAlert(db, 2000, { ...key, userId: user.id, type: "failure", message: "boom again" });
    expect(first.created).toBe(true);
    expect(again.created).toBe(false);
    expect(again.row.id).toBe(first.row.id);
    expect(again.row.occurrences).toBe(2);
    expect(again.row.lastSeenAt).toBe(2000);
    expect(again.row.message).toBe("boom again");
    // Another kind for the same job is another problem.
    raiseAlert(db, 2500, {
      kind: "missed_schedule",
      configId: job.id,
      userId: user.id,
      type: "warning",
      message: "m",
    });
    expect(listOpenAlerts(db, { userId: user.id }).length).toBe(2);
  });

  it("resolves the problem, and a later repeat opens a fresh row", () => {
    const { db, user, job } = setup();
    const key = { kind: "failed_run" as const, configId: job.id };
    const first = raiseAlert(db, 1000, { ...key, userId: user.id, type: "failure", message: "x" });
    const resolved = resolveAlerts(db, 3000, key);
    expect(resolved.map((r) => r.id)).toEqual([first.row.id]);
    expect(resolved[0]?.resolvedAt).toBe(3000);
    expect(resolveAlerts(db, 3001, key)).toEqual([]);
    const next = raiseAlert(db, 4000, { ...key, userId: user.id, type: "failure", message: "y" });
    expect(next.created).toBe(true);
    expect(listOpenAlerts(db, { configId: job.id }).map((r) => r.id)).toEqual([next.row.id]);
  });
});
