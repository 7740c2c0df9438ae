import { describe, expect, it } from "vitest";
import {
  formatApiToken,
  formatDotToken,
  newSplitToken,
  parseApiToken,
  parseDotToken,
  safeEqual,
  secretMatches,
  sha256Hex,
} from "../../src/auth/tokens.ts";

describe("split tokens", () => {
  it("carry 160 random bits in each half and store only the secret's SHA-256", () => {
    const t = newSplitToken();
    expect(t.id).toMatch(/^[a-z2-7]{32}$/);
    expect(t.secret).toMatch(/^[a-z2-7]{32}$/);
    expect(t.secretHash).toBe(sha256Hex(t.secret));
    expect(t.secretHash).not.toContain(t.secret);
    const many = new Set(Array.from({ length: 200 }, () => newSplitToken().secret));
    expect(many.size).toBe(200);
  });

  it("round-trip as <id>.<secret> and refuse anything malformed", () => {
    const t = newSplitToken();
    expect(parseDotToken(formatDotToken(t))).toEqual({ id: t.id, secret: t.secret });
    for (const bad of [
      undefined,
      null,
      "",
      "abc",
      `${t.id}.`,
      `.${t.secret}`,
      `${t.id}.${t.secret}.x`,
      `${t.id.toUpperCase()}.${t.secret}`,
      `${t.id}.${t.secret}1`,
    ]) {
      expect(parseDotToken(bad)).toBeNull();
    }
  });

  it("API tokens are recognisable bk_<id>_<secret> and parse back", () => {
    const t = newSplitToken();
    const s = formatApiToken(t);
    expect(s.startsWith("bk_")).toBe(true);
    expect(parseApiToken(s)).toEqual({ id: t.id, secret: t.secret });
    for (const bad of [
      undefined,
      "",
      "bk_",
      `xx_${t.id}_${t.secret}`,
      `bk_${t.id}`,
      `bk_${t.id}_${t.secret}_x`,
      `bk_${t.id}.${t.secret}`,
    ]) {
      expect(parseApiToken(bad)).toBeNull();
    }
  });

  it("compare secrets and strings in constant time, exactly", () => {
    const t = newSplitToken();
    expect(secretMatches(t.secret, t.secretHash)).toBe(true);
    expect(secretMatches(`${t.secret.slice(0, -1)}a`, t.secretHash)).toBe(t.secret.endsWith("a"));
    expect(secretMatches(t.secret, "not-hex")).toBe(false);
    expect(safeEqual("abc", "abc")).toBe(true);
    expect(safeEqual("abc", "abd")).toBe(false);
    expect(safeEqual("abc", "abcd")).toBe(false);
    expect(safeEqual("", "")).toBe(true);
  });
});
