/** Key/value settings with JSON values; each caller validates its own value. */
import { eq } from "drizzle-orm";
import type { Db } from "./client.ts";
import { settings } from "./schema.ts";

export function getSetting(db: Db, key: string): unknown {
  const row = db.select().from(settings).where(eq(settings.key, key)).get();
  if (!row) return undefined;
  try {
    return JSON.parse(row.value) as unknown;
  } catch {
    return undefined;
  }
}

export function setSetting(db: Db, key: string, value: unknown, now: number): void {
  const text = JSON.stringify(value);
  db.insert(settings)
    .values({ key, value: text, updatedAt: now })
    .onConflictDoUpdate({ target: settings.key, set: { value: text, updatedAt: now } })
    .run();
}

/** Inserts only when the key is absent; returns the stored value either way. */
export function getOrInitSetting(db: Db, key: string, init: () => unknown, now: number): unknown {
  db.insert(settings)
    .values({ key, value: JSON.stringify(init()), updatedAt: now })
    .onConflictDoNothing()
    .run();
  return getSetting(db, key);
}

export function deleteSetting(db: Db, key: string): void {
  db.delete(settings).where(eq(settings.key, key)).run();
}

/** A setting with a schema and a default: a missing or malformed stored value reads as the default. */
export interface TypedSetting<T> {
  key: string;
  schema: { safeParse(v: unknown): { success: true; data: T } | { success: false }; parse(v: unknown): T };
  default: T;
}

export function readTypedSetting<T>(db: Db, spec: TypedSetting<T>): T {
  const parsed = spec.schema.safeParse(getSetting(db, spec.key));
  return parsed.success ? parsed.data : spec.default;
}

/** Stores a value; throws the schema's error (ZodError) when it does not fit. */
export function writeTypedSetting<T>(db: Db, spec: TypedSetting<T>, value: T, now: number): void {
  setSetting(db, spec.key, spec.schema.parse(value), now);
}
