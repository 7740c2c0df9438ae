/**
 * A job's healthcheck URL is sealed at rest (src/db/job-secrets.ts): the database file does not
 * hold it in clear, the job's record still gives it to the program, a value moved to another job
 * does not open, rows from older versions are read and then sealed, and a lost key loses only the
 * URL, never the job.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  findConfigRecord,
  insertConfigRecord,
  listConfigRecords,
  replaceConfigRecord,
} from "../../src/db/backup-configs.ts";
import { openDatabase } from "../../src/db/client.ts";
import { sealStoredHealthcheckUrls } from "../../src/db/job-secrets.ts";
import { backupConfigs } from "../../src/db/schema.ts";
import { newId } from "../../src/util/ids.ts";
import { seedDestination, seedUser } from "../helpers/job-rows.ts";
import { tempDir } from "../helpers/temp.ts";
import { jobInput } from "../jobs/run-fixture.ts";

const URL_A = "https://hc-ping.example/5f2b1c9e-secret-check-id";
const URL_B = "https://hc-ping.example/another-secret-0042";

let dir: ReturnType<typeof tempDir>;
let database: ReturnType<typeof openDatabase>;
let userId: string;
let destinationId: string;
beforeEach(() => {
  dir = tempDir();
  database = openDatabase(dir.path);
  userId = seedUser(database.db).id;
  destinationId = seedDestination(database.db, userId).id;
});
afterEach(() => {
  database.close();
  dir.cleanup();
});

const job = (healthcheckUrl: string | null) => {
  const input = jobInput(destinationId, ["/srv"]);
  return { ...input, options: { ...input.options, healthcheckUrl } };
};
const rawOptions = (id: string) =>
  database.db.select().from(backupConfigs).where(eq(backupConfigs.id, id)).get()!.options;
/** Everything SQLite wrote to disk so far (main file and write-ahead log). */
const fileBytes = () => {
  database.sqlite.run("PRAGMA wal_checkpoint(TRUNCATE)");
  return readFileSync(join(dir.path, "backapp.db")).toString("latin1");
};

describe("healthcheck URLs at rest", () => {
  it("stores the URL sealed, gives it back in the record, and keeps no copy in the file", () => {
    const id = newId();
    insertConfigRecord(database.db, id, userId, job(URL_A), 1);
    expect(rawOptions(id)).not.toContain("hc-ping");
    expect(JSON.parse(rawOptions(id)).healthcheckUrl).toMatch(/^v1:/);
    expect(findConfigRecord(database.db, id)!.options.healthcheckUrl).toBe(URL_A);
    replaceConfigRecord(database.db, id, job(URL_B), 2);
    expect(findConfigRecord(database.db, id)!.options.healthcheckUrl).toBe(URL_B);
    expect(fileBytes()).not.toContain("hc-ping.example");
    replaceConfigRecord(database.db, id, job(null), 3);
    expect(JSON.parse(rawOptions(id)).healthcheckUrl).toBeNull();
    expect(findConfigRecord(database.db, id)!.options.healthcheckUrl).toBeNull();
  });

  it("does not open a sealed URL copied into another job's row", () => {
    const a = newId();
    const b = newId();
    insertConfigRecord(database.db, a, userId, job(URL_A), 1);
    insertConfigRecord(database.db, b, userId, job(null), 1);
    database.db
      .update(backupConfigs)
      .set({ options: rawOptions(a) })
      .where(eq(backupConfigs.id, b))
      .run();
    expect(findConfigRecord(database.db, b)!.options.healthcheckUrl).toBeNull();
    expect(findConfigRecord(database.db, a)!.options.healthcheckUrl).toBe(URL_A);
  });

  it("reads a URL an older version stored in clear, and seals it once at start", () => {
    const id = newId();
    insertConfigRecord(database.db, id, userId, job(null), 1);
    const legacy = { ...JSON.parse(rawOptions(id)), healthcheckUrl: URL_A };
    database.db
      .update(backupConfigs)
      .set({ options: JSON.stringify(legacy) })
      .where(eq(backupConfigs.id, id))
      .run();
    expect(findConfigRecord(database.db, id)!.options.healthcheckUrl).toBe(URL_A);
    expect(sealStoredHealthcheckUrls(database.db)).toBe(1);
    expect(rawOptions(id)).not.toContain("hc-ping");
    expect(findConfigRecord(database.db, id)!.options.healthcheckUrl).toBe(URL_A);
    expect(sealStoredHealthcheckUrls(database.db)).toBe(0);
  });

  it("loses only the URL when secret.key is replaced: the job still lists and runs unpinged", () => {
    const id = newId();
    insertConfigRecord(database.db, id, userId, job(URL_A), 1);
    writeFileSync(join(dir.path, "secret.key"), `${Buffer.alloc(32, 7).toString("base64")}\n`);
    const [record] = listConfigRecords(database.db, { userId });
    expect(record!.id).toBe(id);
    expect(record!.options.healthcheckUrl).toBeNull();
  });
});
