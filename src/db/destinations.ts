/**
 * Queries on destinations. `settings` holds what may be shown (bucket, prefix, region, endpoint,
 * access key id, storage class, CA certificate, or a folder path); `secrets_enc` holds the S3
 * secret access key and the repository passphrase, sealed with the server key
 * (src/db/secret-box.ts) under a context naming the row, so a sealed value copied onto another
 * row does not open.
 */
import { and, asc, count, eq } from "drizzle-orm";
import { z } from "zod";
import { Secret } from "../util/secret.ts";
import type { Db } from "./client.ts";
import { backupConfigs, destinations } from "./schema.ts";
import { loadServerKey, seal, unseal } from "./secret-box.ts";

export type DestinationRow = typeof destinations.$inferSelect;

export const s3SettingsSchema = z.object({
  bucket: z.string(),
  prefix: z.string(),
  region: z.string(),
  endpoint: z.string().nullable(),
  accessKeyId: z.string(),
  storageClass: z.string().nullable(),
  /** PEM of a private CA the store's certificate is signed by; public, so not sealed. */
  caCertificate: z.string().nullable(),
  /** Whether the repository encrypts (false only for one made with --insecure-no-encryption). */
  encrypted: z.boolean().default(true),
});
export type S3StoredSettings = z.output<typeof s3SettingsSchema>;

export const localSettingsSchema = z.object({ path: z.string(), encrypted: z.boolean().default(true) });
export type LocalStoredSettings = z.output<typeof localSettingsSchema>;

export type StoredSettings = ({ kind: "s3" } & S3StoredSettings) | ({ kind: "local" } & LocalStoredSettings);

/** What `secrets_enc` holds once unsealed. */
export interface DestinationSecrets {
  secretAccessKey: Secret | null;
  password: Secret;
}

const sealedSchema = z.object({ secretAccessKey: z.string().nullable(), password: z.string() });

function secretsContext(id: string): string {
  return `destination:${id}`;
}

export function findDestinationRow(db: Db, id: string): DestinationRow | undefined {
  return db.select().from(destinations).where(eq(destinations.id, id)).get();
}

/** Every destination, or one user's, oldest first. */
export function listDestinationRows(db: Db, userId?: string): DestinationRow[] {
  const q = db.select().from(destinations);
  const filtered = userId === undefined ? q : q.where(eq(destinations.userId, userId));
  return filtered.orderBy(asc(destinations.createdAt), asc(destinations.name)).all();
}

/** The row's settings, typed by kind. Throws when the stored JSON does not fit (a damaged row). */
export function storedSettings(row: DestinationRow): StoredSettings {
  const raw = JSON.parse(row.settings) as unknown;
  if (row.kind === "s3") return { kind: "s3", ...s3SettingsSchema.parse(raw) };
  return { kind: "local", ...localSettingsSchema.parse(raw) };
}

function settingsJson(settings: StoredSettings): string {
  const { kind: _kind, ...rest } = settings;
  return JSON.stringify(rest);
}

/** The row's secrets, unsealed. SecretBoxError when the server key changed or the row was tampered with. */
export function destinationSecrets(dataDir: string, row: DestinationRow): DestinationSecrets {
  if (!row.secretsEnc) return { secretAccessKey: null, password: new Secret("") };
  const plain = unseal(loadServerKey(dataDir), secretsContext(row.id), row.secretsEnc).reveal();
  const parsed = sealedSchema.parse(JSON.parse(plain));
  return {
    secretAccessKey: parsed.secretAccessKey === null ? null : new Secret(parsed.secretAccessKey),
    password: new Secret(parsed.password),
  };
}

function sealSecrets(dataDir: string, id: string, secrets: DestinationSecrets): string {
  const plain = JSON.stringify({
    secretAccessKey: secrets.secretAccessKey?.reveal() ?? null,
    password: secrets.password.reveal(),
  });
  return seal(loadServerKey(dataDir), secretsContext(id), plain);
}

export interface NewDestination {
  id: string;
  userId: string;
  name: string;
  settings: StoredSettings;
  secrets: DestinationSecrets;
  repositoryId: string;
  now: number;
}

export function insertDestination(db: Db, dataDir: string, d: NewDestination): DestinationRow {
  db.insert(destinations)
    .values({
      id: d.id,
      userId: d.userId,
      name: d.name,
      kind: d.settings.kind,
      settings: settingsJson(d.settings),
      secretsEnc: sealSecrets(dataDir, d.id, d.secrets),
      repositoryId: d.repositoryId,
      createdAt: d.now,
      updatedAt: d.now,
    })
    .run();
  return findDestinationRow(db, d.id) as DestinationRow;
}

export interface DestinationChange {
  name: string;
  settings: StoredSettings;
  secrets: DestinationSecrets;
  repositoryId: string;
  now: number;
}

export function updateDestination(db: Db, dataDir: string, id: string, c: DestinationChange): DestinationRow {
  db.update(destinations)
    .set({
      name: c.name,
      kind: c.settings.kind,
      settings: settingsJson(c.settings),
      secretsEnc: sealSecrets(dataDir, id, c.secrets),
      repositoryId: c.repositoryId,
      updatedAt: c.now,
    })
    .where(eq(destinations.id, id))
    .run();
  return findDestinationRow(db, id) as DestinationRow;
}

export function deleteDestinationRow(db: Db, id: string): void {
  db.delete(destinations).where(eq(destinations.id, id)).run();
}

/** The jobs (backup configs) writing into a destination, for the delete refusal. */
export function jobsUsingDestination(db: Db, id: string): { id: string; name: string }[] {
  return db
    .select({ id: backupConfigs.id, name: backupConfigs.name })
    .from(backupConfigs)
    .where(eq(backupConfigs.destinationId, id))
    .orderBy(asc(backupConfigs.name))
    .all();
}

/** True when the user already has a destination of this name (names are unique per user). */
export function destinationNameTaken(db: Db, userId: string, name: string, exceptId?: string): boolean {
  const rows = db
    .select({ id: destinations.id })
    .from(destinations)
    .where(and(eq(destinations.userId, userId), eq(destinations.name, name)))
    .all();
  return rows.some((r) => r.id !== exceptId);
}

export function countDestinations(db: Db): number {
  return db.select({ n: count() }).from(destinations).get()?.n ?? 0;
}
