/** Queries on users. Emails are stored lower-cased; uniqueness is enforced by the database. */
import { and, asc, count, eq, sql } from "drizzle-orm";
import { ValidationError } from "../util/errors.ts";
import { newId } from "../util/ids.ts";
import type { Db } from "./client.ts";
import { users } from "./schema.ts";

export type UserRow = typeof users.$inferSelect;
export type Role = UserRow["role"];

/** What an account looks like outside the auth layer: never the password hash. */
export interface PublicUser {
  id: string;
  email: string;
  name: string;
  role: Role;
}

export function toPublicUser(u: UserRow): PublicUser {
  return { id: u.id, email: u.email, name: u.name, role: u.role };
}

export function countUsers(db: Db): number {
  return db.select({ n: count() }).from(users).get()?.n ?? 0;
}

export function countActiveAdmins(db: Db): number {
  return (
    db
      .select({ n: count() })
      .from(users)
      .where(and(eq(users.role, "admin"), eq(users.disabled, false)))
      .get()?.n ?? 0
  );
}

export function findUserById(db: Db, id: string): UserRow | undefined {
  return db.select().from(users).where(eq(users.id, id)).get();
}

export function findUserByEmail(db: Db, email: string): UserRow | undefined {
  return db.select().from(users).where(sql`lower(${users.email}) = ${email.trim().toLowerCase()}`).get();
}

export function listUsers(db: Db): UserRow[] {
  return db.select().from(users).orderBy(asc(users.createdAt), asc(users.email)).all();
}

export class EmailTakenError extends ValidationError {
  constructor() {
    super("An account with this email address already exists.");
  }
}

function isUniqueViolation(error: unknown): boolean {
  return error instanceof Error && /UNIQUE constraint failed/i.test(error.message);
}

export function insertUser(
  db: Db,
  input: { email: string; name: string; passwordHash: string; role: Role; allowedRoots?: string[] },
): UserRow {
  try {
    return db
      .insert(users)
      .values({
        id: newId(),
        email: input.email.trim().toLowerCase(),
        name: input.name,
        passwordHash: input.passwordHash,
        role: input.role,
        allowedRoots: JSON.stringify(input.allowedRoots ?? []),
      })
      .returning()
      .get();
  } catch (error) {
    if (isUniqueViolation(error)) throw new EmailTakenError();
    throw error;
  }
}

export interface UserPatch {
  email?: string;
  name?: string;
  passwordHash?: string;
  role?: Role;
  disabled?: boolean;
  allowedRoots?: string[];
}

export function updateUser(db: Db, id: string, patch: UserPatch, now: number): UserRow | undefined {
  const { allowedRoots, email, ...rest } = patch;
  const values: Partial<typeof users.$inferInsert> = { ...rest, updatedAt: now };
  if (email !== undefined) values.email = email.trim().toLowerCase();
  if (allowedRoots !== undefined) values.allowedRoots = JSON.stringify(allowedRoots);
  try {
    return db.update(users).set(values).where(eq(users.id, id)).returning().get();
  } catch (error) {
    if (isUniqueViolation(error)) throw new EmailTakenError();
    throw error;
  }
}

/** The user's allowed roots; a malformed column reads as none (fail closed). */
export function allowedRootsOf(user: Pick<UserRow, "allowedRoots">): string[] {
  try {
    const value: unknown = JSON.parse(user.allowedRoots);
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
  } catch {
    return [];
  }
}
