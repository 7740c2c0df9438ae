import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadServerKey, SecretBoxError, seal, unseal } from "../../src/db/secret-box.ts";
import { tempDir } from "../helpers/temp.ts";

let dir: ReturnType<typeof tempDir>;
beforeEach(() => {
  dir = tempDir();
});
afterEach(() => dir.cleanup());

describe("secret box", () => {
  it("creates one 0600 key per data dir and keeps it", () => {
    const a = loadServerKey(dir.path);
    const b = loadServerKey(dir.path);
    expect(a.length).toBe(32);
    expect(b.equals(a)).toBe(true);
    expect(statSync(join(dir.path, "secret.key")).mode & 0o777).toBe(0o600);
  });

  it("round-trips, binds the context, and refuses other keys and tampering", () => {
    const key = loadServerKey(dir.path);
    const sealed = seal(key, "smtp.password", "hunter2 ünïcode 😀");
    expect(sealed).toMatch(/^v1:/);
    expect(sealed).not.toContain("hunter2");
    expect(seal(key, "smtp.password", "same")).not.toBe(seal(key, "smtp.password", "same"));
    const opened = unseal(key, "smtp.password", sealed);
    expect(opened.reveal()).toBe("hunter2 ünïcode 😀");
    expect(String(opened)).toBe("[secret]");
    expect(() => unseal(key, "other.context", sealed)).toThrow(SecretBoxError);
    const other = tempDir();
    try {
      expect(() => unseal(loadServerKey(other.path), "smtp.password", sealed)).toThrow(/another key/);
    } finally {
      other.cleanup();
    }
    const raw = Buffer.from(sealed.slice(3), "base64");
    raw[raw.length - 1]! ^= 1;
    expect(() => unseal(key, "smtp.password", `v1:${raw.toString("base64")}`)).toThrow(SecretBoxError);
    expect(() => unseal(key, "smtp.password", "plain text")).toThrow(/not a sealed value/);
  });

  it("refuses a key file that is not 32 bytes", async () => {
    const { writeFileSync } = await import("node:fs");
    writeFileSync(join(dir.path, "secret.key"), "short\n");
    expect(() => loadServerKey(dir.path)).toThrow(/not a backapp secret key/);
    expect(readFileSync(join(dir.path, "secret.key"), "utf8")).toBe("short\n");
  });
});
