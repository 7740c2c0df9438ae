/**
 * Seeds users, destinations and backup configs straight into a database, for tests of the run
 * records, alerts and runner that do not go through the web API.
 */
import { type Db, openDatabase } from "../../src/db/client.ts";
import { backupConfigs, destinations } from "../../src/db/schema.ts";
import { insertUser } from "../../src/db/users.ts";
import { newId } from "../../src/util/ids.ts";
import { tempDir } from "./temp.ts";

export function seedUser(
  db: Db,
  email = `u${newId().slice(0, 6)}@example.com`,
  role: "admin" | "user" = "user",
) {
  return insertUser(db, { email, name: email, passwordHash: "x", role });
}

/** A local destination row (no secrets: enough for foreign keys and queue keys). */
export function seedDestination(db: Db, userId: string, path = "/tmp/none") {
  return db
    .insert(destinations)
    .values({ id: newId(), userId, name: "d", kind: "local", settings: JSON.stringify({ path }) })
    .returning()
    .get();
}

/** A minimal config row; CONFIGS' module owns the real shape of the JSON columns. */
export function seedConfigRow(db: Db, userId: string, destinationId: string, name = "job") {
  return db
    .insert(backupConfigs)
    .values({
      id: newId(),
      userId,
      destinationId,
      name,
      sources: "[]",
      schedule: JSON.stringify({ cronExpression: "", timezone: "UTC" }),
      options: "{}",
    })
    .returning()
    .get();
}

/** The fields every backup log answer carries (the JSON shape). */
export const LOG_KEYS = [
  "id",
  "configId",
  "status",
  "startTime",
  "endTime",
  "filesProcessed",
  "filesSkipped",
  "totalBytes",
  "bytesTransferred",
  "errors",
  "duration",
  "snapshotId",
];

/**
 * A fresh database with one user, a destination and a job; closed and removed by the returned
 * cleanup list's owner (call `cleanup()` from afterEach).
 */
export function seededDb(cleanups: (() => void)[]) {
  const dir = tempDir();
  const database = openDatabase(dir.path);
  cleanups.push(() => {
    database.close();
    dir.cleanup();
  });
  const db = database.db;
  const user = seedUser(db);
  const dest = seedDestination(db, user.id);
  const job = seedConfigRow(db, user.id, dest.id);
  return { db, user, dest, job };
}
