import { describe, expect, it } from "vitest";
import { MAX_PASSWORD_LENGTH, passwordProblem } from "../../src/auth/policy.ts";
import {
  changePasswordSchema,
  fieldErrors,
  inviteCreateSchema,
  loginSchema,
  registerSchema,
  userUpdateSchema,
} from "../../src/auth/schemas.ts";

describe("password policy", () => {
  it("accepts a long, uncommon password", () => {
    expect(passwordProblem("purple staple 42 lantern")).toBeNull();
    expect(passwordProblem("purple staple 42 lantern", "ann@example.com")).toBeNull();
  });

  it("refuses short, overlong, common, repeated and email-like passwords with a field message", () => {
    expect(passwordProblem("short")).toMatch(/at least 12/);
    expect(passwordProblem("x".repeat(MAX_PASSWORD_LENGTH + 1))).toMatch(/at most/);
    expect(passwordProblem("Password1234")).toMatch(/too common/);
    expect(passwordProblem("qwerty123456")).toMatch(/too common/);
    expect(passwordProblem("zzzzzzzzzzzzzz")).toMatch(/too common/);
    expect(passwordProblem("Longname@example.com", "longname@example.com")).toMatch(/email/);
    expect(passwordProblem("verylonglocalpart", "VeryLongLocalPart@example.com")).toMatch(/email/);
  });
});

describe("password length", () => {
  it("counts characters, not UTF-16 units: six emoji are too short, twelve are enough", () => {
    expect(passwordProblem("🔑".repeat(6))).toMatch(/at least 12/);
    expect(passwordProblem("🔑🗝🔒🔐🛡🧷🔑🗝🔒🔐🛡🧷")).toBeNull();
    expect(passwordProblem("ü".repeat(257))).toMatch(/at most 256/);
    // What registration accepts, sign-in accepts too.
    const long = "🔑".repeat(200);
    expect(passwordProblem(long)).toBeNull();
    expect(loginSchema.safeParse({ email: "a@example.com", password: long }).success).toBe(true);
    expect(changePasswordSchema.safeParse({ currentPassword: long, newPassword: long }).success).toBe(true);
  });
});

describe("shared input schemas", () => {
  it("normalise email and name and report each field's first problem", () => {
    const ok = registerSchema.parse({
      email: "  Ann@Example.COM ",
      name: " Ann ",
      password: "purple staple 42",
    });
    expect(ok).toMatchObject({ email: "ann@example.com", name: "Ann" });
    const bad = registerSchema.safeParse({ email: "nope", name: "", password: "short" });
    expect(bad.success).toBe(false);
    if (!bad.success) {
      expect(fieldErrors(bad.error)).toEqual({
        email: "Enter a valid email address.",
        name: "Enter a name.",
        password: "Use at least 12 characters.",
      });
    }
  });

  it("refuse a password equal to the email on the password field", () => {
    const r = registerSchema.safeParse({
      email: "someone.long@example.com",
      name: "S",
      password: "someone.long@example.com",
    });
    expect(r.success).toBe(false);
    if (!r.success) expect(fieldErrors(r.error).password).toMatch(/email/);
  });

  it("say what is wrong for missing, mistyped and overlong fields (not zod's generic words)", () => {
    const missing = loginSchema.safeParse({});
    if (!missing.success) {
      expect(fieldErrors(missing.error)).toEqual({
        email: "Enter your email address.",
        password: "Enter your password.",
      });
    }
    const long = loginSchema.safeParse({ email: "a@example.com", password: "x".repeat(300) });
    if (!long.success) expect(fieldErrors(long.error)).toEqual({ password: "Use at most 256 characters." });
    const typed = registerSchema.safeParse({ email: 1, name: ["x"], password: null, setupToken: 5 });
    if (!typed.success) {
      expect(fieldErrors(typed.error)).toEqual({
        email: "Enter your email address.",
        name: "Enter a name.",
        password: "Enter a password.",
        setupToken: "Enter the setup token.",
      });
    }
    expect(missing.success || long.success || typed.success).toBe(false);
    const roots = userUpdateSchema.parse({ allowedRoots: ["//srv//a/./b/", "/srv/a/b", "/"] });
    expect(roots.allowedRoots).toEqual(["/srv/a/b", "/"]);
    expect(userUpdateSchema.safeParse({ allowedRoots: ["/a\u0000b"] }).success).toBe(false);
    expect(userUpdateSchema.safeParse({ name: "a\u0007" }).success).toBe(false);
  });

  it("validate login, password change, invites and admin updates", () => {
    expect(loginSchema.safeParse({ email: "", password: "" }).success).toBe(false);
    expect(changePasswordSchema.safeParse({ currentPassword: "x", newPassword: "short" }).success).toBe(
      false,
    );
    expect(inviteCreateSchema.parse({})).toEqual({ role: "user", expiresInHours: 72 });
    expect(inviteCreateSchema.parse({ role: "admin", expiresInHours: "5" })).toEqual({
      role: "admin",
      expiresInHours: 5,
    });
    expect(inviteCreateSchema.safeParse({ expiresInHours: 0 }).success).toBe(false);
    expect(userUpdateSchema.parse({ allowedRoots: ["/srv/data"] })).toEqual({ allowedRoots: ["/srv/data"] });
    expect(userUpdateSchema.safeParse({ allowedRoots: ["relative/path"] }).success).toBe(false);
    expect(userUpdateSchema.safeParse({ allowedRoots: ["/srv/../etc"] }).success).toBe(false);
    expect(userUpdateSchema.safeParse({ role: "root" }).success).toBe(false);
  });
});
