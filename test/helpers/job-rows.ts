/**
 * Seeds users, destinations and backup configs straight into a database, for tests of the run
 * records, alerts and runner that do not go through the web API.
 */
import type { Db } from "../../src/db/client.ts";
import { backupConfigs, destinations } from "../../src/db/schema.ts";
import { insertUser } from "../../src/db/users.ts";
import { newId } from "../../src/util/ids.ts";

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
