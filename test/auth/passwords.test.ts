import { describe, expect, it } from "vitest";
import { hashPassword, verifyAgainstDummy, verifyPassword } from "../../src/auth/passwords.ts";

describe("password hashing", () => {
  it("uses Argon2id with a fresh salt and verifies only the right password", async () => {
    const a = await hashPassword("a long enough password");
    const b = await hashPassword("a long enough password");
    expect(a.startsWith("$argon2id$")).toBe(true);
    expect(a).not.toBe(b);
    expect(await verifyPassword("a long enough password", a)).toBe(true);
    expect(await verifyPassword("a long enough passwore", a)).toBe(false);
  });

  it("treats a malformed hash as a mismatch instead of throwing", async () => {
    expect(await verifyPassword("whatever", "not a hash")).toBe(false);
    expect(await verifyPassword("whatever", "")).toBe(false);
  });

  it("spends a verification on unknown accounts and always fails", async () => {
    expect(await verifyAgainstDummy("backapp-dummy-password-for-timing")).toBe(false);
    expect(await verifyAgainstDummy("anything")).toBe(false);
  });
});
