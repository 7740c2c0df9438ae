import { describe, expect, it } from "vitest";
import { ForbiddenError } from "../../src/auth/errors.ts";
import {
  assertConfigAccess,
  canDefineHooks,
  canSee,
  configAccessProblems,
  isPathAllowed,
  ownedOrNotFound,
  type Principal,
  principalOf,
} from "../../src/auth/permissions.ts";
import { NotFoundError } from "../../src/util/errors.ts";

const admin: Principal = { id: "a", role: "admin", allowedRoots: [] };
const user: Principal = { id: "u", role: "user", allowedRoots: ["/srv/data", "/home/u/"] };
const none: Principal = { id: "n", role: "user", allowedRoots: [] };

describe("permissions", () => {
  it("admins see every row; users only their own", () => {
    expect(canSee(admin, "u")).toBe(true);
    expect(canSee(user, "u")).toBe(true);
    expect(canSee(user, "a")).toBe(false);
  });

  it("ownedOrNotFound answers not found for other users' rows and missing rows", () => {
    const row = { id: "r", userId: "a" };
    expect(ownedOrNotFound(admin, row)).toBe(row);
    expect(() => ownedOrNotFound(user, row, "destination")).toThrow(NotFoundError);
    expect(() => ownedOrNotFound(user, undefined)).toThrow(/not found/);
  });

  it("paths must lie under an allowed root, after normalisation", () => {
    expect(isPathAllowed(user, "/srv/data")).toBe(true);
    expect(isPathAllowed(user, "/srv/data/x/y")).toBe(true);
    expect(isPathAllowed(user, "/home/u/docs")).toBe(true);
    expect(isPathAllowed(user, "/srv/database")).toBe(false);
    expect(isPathAllowed(user, "/srv/data/../../etc/shadow")).toBe(false);
    expect(isPathAllowed(user, "srv/data")).toBe(false);
    expect(isPathAllowed(none, "/srv/data")).toBe(false);
    expect(isPathAllowed(admin, "/etc")).toBe(true);
    expect(isPathAllowed(admin, "etc")).toBe(false);
    expect(isPathAllowed({ ...none, allowedRoots: ["/"] }, "/anything")).toBe(true);
    expect(isPathAllowed({ ...none, allowedRoots: ["relative"] }, "/relative")).toBe(false);
  });

  it("only admins may define shell hooks", () => {
    expect(canDefineHooks(admin)).toBe(true);
    expect(canDefineHooks(user)).toBe(false);
  });
});

describe("principalOf", () => {
  it("reads allowed roots from the user row and fails closed on bad JSON", () => {
    expect(principalOf({ id: "x", role: "user", allowedRoots: '["/a"]' })).toEqual({
      id: "x",
      role: "user",
      allowedRoots: ["/a"],
    });
    expect(principalOf({ id: "x", role: "user", allowedRoots: "not json" }).allowedRoots).toEqual([]);
    expect(principalOf({ id: "x", role: "user", allowedRoots: '{"a":1}' }).allowedRoots).toEqual([]);
    expect(principalOf({ id: "x", role: "user", allowedRoots: '["/a", 3]' }).allowedRoots).toEqual(["/a"]);
  });
});

describe("config access (for backup configs and restores)", () => {
  it("refuses paths outside the allowed roots and hooks from non-admins, per field", () => {
    expect(configAccessProblems(user, { paths: ["/srv/data/x", "/home/u"], hooks: [] })).toEqual({});
    expect(configAccessProblems(admin, { paths: ["/etc"], hooks: [{ command: "true" }] })).toEqual({});
    expect(configAccessProblems(none, { paths: ["/srv/data"] })).toEqual({
      paths: "/srv/data is outside the folders an administrator allowed for you.",
    });
    expect(configAccessProblems(user, { paths: ["/srv/data/../../etc"], hooks: ["rm -rf /"] })).toEqual({
      paths: expect.stringContaining("outside"),
      hooks: "Only administrators may define shell hooks.",
    });
    expect(configAccessProblems(admin, { paths: ["relative"] }).paths).toMatch(/not an absolute path/);
    expect(() => assertConfigAccess(user, { paths: ["/srv/data"], hooks: null })).not.toThrow();
    try {
      assertConfigAccess(user, { paths: ["/srv/data"], hooks: ["echo"] });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ForbiddenError);
      expect((error as ForbiddenError).fields).toEqual({
        hooks: "Only administrators may define shell hooks.",
      });
    }
  });
});
