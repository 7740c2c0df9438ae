/**
 * Role checks other areas use on every id and path. Admins see everything; a user sees only rows
 * they own, and anything else reads as "not found" (404), never "forbidden", so ids of other
 * users' resources are not confirmed to exist.
 */
import { isAbsolute, normalize, sep } from "node:path";
import { allowedRootsOf, type UserRow } from "../db/users.ts";
import { NotFoundError } from "../util/errors.ts";
import { ForbiddenError } from "./errors.ts";

export interface Principal {
  id: string;
  role: "admin" | "user";
  /** Absolute paths this principal may back up and restore; ignored for admins. */
  allowedRoots: readonly string[];
}

/** The principal of a signed-in user (`c.get("user")` in route handlers). */
export function principalOf(user: Pick<UserRow, "id" | "role" | "allowedRoots">): Principal {
  return { id: user.id, role: user.role, allowedRoots: allowedRootsOf(user) };
}

export function isAdmin(p: Principal): boolean {
  return p.role === "admin";
}

/** True when `p` may see a row owned by `ownerId`. */
export function canSee(p: Principal, ownerId: string): boolean {
  return isAdmin(p) || p.id === ownerId;
}

/** Returns the row when `p` may see it; throws NotFoundError (404) when missing or not theirs. */
export function ownedOrNotFound<T extends { userId: string }>(
  p: Principal,
  row: T | undefined,
  what = "item",
): T {
  if (!row || !canSee(p, row.userId)) throw new NotFoundError(`${what} not found`);
  return row;
}

/**
 * True when `path` lies inside one of the principal's allowed roots (admins: any absolute path).
 * Paths are normalised first, so "/home/a/../b" is judged as "/home/b"; relative paths never pass.
 */
export function isPathAllowed(p: Principal, path: string): boolean {
  if (!isAbsolute(path)) return false;
  if (isAdmin(p)) return true;
  const target = normalize(path);
  return p.allowedRoots.some((root) => {
    if (!isAbsolute(root)) return false;
    const r = normalize(root).replace(/\/+$/, "") || sep;
    return r === sep || target === r || target.startsWith(r + sep);
  });
}

/** Shell hooks run as the server's user: only admins may define them. */
export function canDefineHooks(p: Principal): boolean {
  return isAdmin(p);
}

/** The parts of a backup or restore request that access control judges. */
export interface ConfigAccessRequest {
  /** Source paths to back up, or the target path of a restore. */
  paths: readonly string[];
  /** Shell hooks (pre/post commands) the request defines; empty or absent when none. */
  hooks?: readonly unknown[] | null | undefined;
}

/**
 * Field problems that forbid `p` from saving or running `request`: a path outside the principal's
 * allowed roots ("paths"), or any shell hook from a non-admin ("hooks"). Empty when allowed.
 * Every place that validates a backup config or a restore (API and forms alike) must call this
 * or assertConfigAccess before saving or starting anything.
 */
export function configAccessProblems(p: Principal, request: ConfigAccessRequest): Record<string, string> {
  const problems: Record<string, string> = {};
  const outside = request.paths.find((path) => !isPathAllowed(p, path));
  if (outside !== undefined) {
    problems.paths = isAbsolute(outside)
      ? `${outside} is outside the folders an administrator allowed for you.`
      : `${outside} is not an absolute path.`;
  }
  if ((request.hooks?.length ?? 0) > 0 && !canDefineHooks(p)) {
    problems.hooks = "Only administrators may define shell hooks.";
  }
  return problems;
}

/** Throws ForbiddenError (403, with field problems) unless configAccessProblems finds none. */
export function assertConfigAccess(p: Principal, request: ConfigAccessRequest): void {
  const problems = configAccessProblems(p, request);
  const first = Object.values(problems)[0];
  if (first !== undefined) throw new ForbiddenError(first, problems);
}
