import { afterEach, describe, expect, it } from "vitest";
import {
  decodeCursor,
  encodeCursor,
  insertLog,
  latestLogsByConfig,
  listLogs,
  logJson,
} from "../../src/db/backup-logs.ts";
import { newId } from "../../src/util/ids.ts";
import { LOG_KEYS, seedConfigRow, seededDb } from "../helpers/job-rows.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function setup() {
  const { db, user, dest } = seededDb(cleanups);
  const a = seedConfigRow(db, user.id, dest.id, "a");
  const b = seedConfigRow(db, user.id, dest.id, "b");
  const log = (
    configId: string,
    startTime: number,
    status: "completed" | "failed" | "running" = "completed",
  ) => insertLog(db, { id: newId(), configId, userId: user.id, status, startTime });
  return { db, user, a, b, log };
}

describe("backup logs", () => {
  it("latestLogsByConfig gives the newest run of each config and nothing for configs without runs", () => {
    const { db, a, b, log } = setup();
    log(a.id, 1000);
    const newest = log(a.id, 3000, "failed");
    log(a.id, 2000);
    const c = seedConfigRow(db, a.userId, a.destinationId, "c");
    const map = latestLogsByConfig(db, [a.id, b.id, c.id]);
    expect(map.get(a.id)?.id).toBe(newest.id);
    expect(map.get(a.id)?.status).toBe("failed");
    expect(map.has(b.id)).toBe(false);
    expect(latestLogsByConfig(db, []).size).toBe(0);
  });

  it("lists newest first with keyset pages that neither skip nor repeat rows of equal start time", () => {
    const { db, a, b, log } = setup();
    const ids = new Set<string>();
    for (let i = 0; i < 7; i++) ids.add(log(i % 2 ? a.id : b.id, 1000 + Math.floor(i / 3)).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = listLogs(db, { limit: 3, cursor });
      seen.push(...page.items.map((r) => r.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(new Set(seen)).toEqual(ids);
    expect(seen.length).toBe(7);
    const onlyA = listLogs(db, { configId: a.id }).items;
    expect(onlyA.every((r) => r.configId === a.id)).toBe(true);
    expect(onlyA.length).toBe(3);
  });

  it("filters by status and user, and round-trips cursors", () => {
    const { db, a, log, user } = setup();
    log(a.id, 1, "running");
    log(a.id, 2, "completed");
    expect(listLogs(db, { status: "running" }).items.map((r) => r.status)).toEqual(["running"]);
    expect(listLogs(db, { userId: "someone-else" }).items).toEqual([]);
    expect(listLogs(db, { userId: user.id }).items.length).toBe(2);
    expect(decodeCursor(encodeCursor({ startTime: 42, id: "abc" }))).toEqual({ startTime: 42, id: "abc" });
    expect(decodeCursor("not a cursor")).toBeNull();
  });

  it("answers the API's log shape", () => {
    const { a, log } = setup();
    const json = logJson(log(a.id, Date.parse("2026-01-01T00:00:00Z")));
    expect(Object.keys(json)).toEqual(expect.arrayContaining(LOG_KEYS));
    expect(json.startTime).toBe("2026-01-01T00:00:00.000Z");
    expect(json.errors).toEqual([]);
  });
});
