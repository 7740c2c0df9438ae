/**
 * Destination rules at the domain level (real SQLite, real folders): attaching to an unencrypted
 * repository needs no passphrase and is reported as such; an edit that points at another
 * repository is refused and changes nothing; audit entries never hold a secret.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FieldError } from "../../src/auth/errors.ts";
import { listAudit } from "../../src/db/audit.ts";
import { openDatabase } from "../../src/db/client.ts";
import { destinationSecrets, findDestinationRow } from "../../src/db/destinations.ts";
import { insertUser } from "../../src/db/users.ts";
import { destinationInputSchema, destinationJson } from "../../src/jobs/destination-schema.ts";
import { changeDestination, createDestination } from "../../src/jobs/destinations.ts";
import { initSpecRepository } from "../../src/jobs/repository-access.ts";
import { createManualClock } from "../../src/util/clock.ts";
import { tempDir } from "../helpers/temp.ts";

const CHEAP = { scrypt: { N: 1024, r: 8, p: 1 }, workers: 0 };
const PASS = "domain-pass-Hy62Qa";

describe("destination rules", () => {
  const dir = tempDir("backapp-dest-domain-");
  const database = openDatabase(dir.path);
  const deps = { db: database.db, dataDir: dir.path, clock: createManualClock(1_000), caBundlePem: null };
  let admin: { id: string; role: "admin"; allowedRoots: string[] };
  beforeAll(() => {
    const row = insertUser(database.db, {
      email: "d@example.com",
      name: "D",
      passwordHash: "x",
      role: "admin",
    });
    admin = { id: row.id, role: "admin", allowedRoots: [] };
  });
  afterAll(() => {
    database.close();
    dir.cleanup();
  });

  const local = (name: string, path: string, password?: string) =>
    destinationInputSchema.parse({ type: "local", name, path, ...(password ? { password } : {}) });

  async function repoAt(path: string, options: { encryption?: boolean } = {}) {
    mkdirSync(path, { recursive: true });
    const repo = await initSpecRepository(
      { address: path, s3: {}, password: PASS },
      { ...CHEAP, ...options },
    );
    await repo.close();
    return repo.id;
  }

  it("attaches to an unencrypted repository without a passphrase, reporting it unencrypted", async () => {
    const path = join(dir.path, "plain");
    const id = await repoAt(path, { encryption: false });
    const made = await createDestination(deps, admin, local("plain", path), {});
    expect(made.repository).toMatchObject({ created: false, encrypted: false, repositoryId: id });
    expect(destinationJson(made.row)).toMatchObject({ encrypted: false, passwordSet: false });
  });

  it("refuses an edit that points at another repository, changing nothing", async () => {
    const first = join(dir.path, "first");
    const second = join(dir.path, "second");
    await repoAt(first);
    await repoAt(second);
    const made = await createDestination(deps, admin, local("first", first, PASS), {});
    const err = await changeDestination(deps, admin, made.row.id, local("first", second), {}).catch((e) => e);
    expect(err).toBeInstanceOf(FieldError);
    expect((err as FieldError).fields.form).toMatch(/holds another repository/);
    const row = findDestinationRow(database.db, made.row.id);
    expect(row?.settings).toContain(first);
    expect(destinationSecrets(dir.path, row!).password.reveal()).toBe(PASS);
  });

  it("generates a passphrase for a new repository and keeps every secret out of the audit log", async () => {
    const made = await createDestination(deps, admin, local("fresh", join(dir.path, "fresh")), {});
    const generated = made.repository.generatedPassword as string;
    expect(generated).toHaveLength(43);
    expect(destinationSecrets(dir.path, made.row).password.reveal()).toBe(generated);
    const text = JSON.stringify(listAudit(database.db, { limit: 100 }));
    expect(text).toContain("destination.create");
    expect(text).not.toContain(generated);
    expect(text).not.toContain(PASS);
  });
});
