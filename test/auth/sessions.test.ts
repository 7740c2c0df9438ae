import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createApiToken, validateApiToken } from "../../src/auth/api-tokens.ts";
import {
  createSession,
  SESSION_ABSOLUTE_MS,
  SESSION_TTL_MS,
  validateSession,
} from "../../src/auth/sessions.ts";
import { parseDotToken, sha256Hex } from "../../src/auth/tokens.ts";
import { type OpenedDatabase, openDatabase } from "../../src/db/client.ts";
import { findSession } from "../../src/db/sessions.ts";
import { insertUser, updateUser } from "../../src/db/users.ts";
import { createManualClock } from "../../src/util/clock.ts";
import { tempDir } from "../helpers/temp.ts";

const DAY = 24 * 3600_000;
let dir: ReturnType<typeof tempDir>;
let database: OpenedDatabase;
let clock: ReturnType<typeof createManualClock>;
let deps: { db: OpenedDatabase["db"]; clock: typeof clock };
let userId: string;

beforeEach(() => {
  dir = tempDir();
  database = openDatabase(dir.path);
  clock = createManualClock(Date.parse("2026-03-01T00:00:00Z"));
  deps = { db: database.db, clock };
  userId = insertUser(database.db, { email: "s@example.com", name: "S", passwordHash: "x", role: "user" }).id;
});
afterEach(() => {
  database.close();
  dir.cleanup();
});

describe("sessions", () => {
  it("store only the SHA-256 of the secret and validate the whole token", () => {
    const { token, session } = createSession(deps, userId, { ip: "1.2.3.4", userAgent: "ua" });
    const parsed = parseDotToken(token)!;
    const row = findSession(database.db, session.id)!;
    expect(row.secretHash).toBe(sha256Hex(parsed.secret));
    expect(JSON.stringify(row)).not.toContain(parsed.secret);
    expect(row.csrfToken).toMatch(/^[a-z2-7]{32}$/);
    expect(validateSession(deps, token)?.user.id).toBe(userId);
    expect(validateSession(deps, `${parsed.id}.${"a".repeat(32)}`)).toBeNull();
    expect(validateSession(deps, "garbage")).toBeNull();
    expect(validateSession(deps, undefined)).toBeNull();
  });

  it("slide: renewed to 30 days once half is used, expire after 30 idle days", () => {
    const { token, session } = createSession(deps, userId);
    expect(session.expiresAt).toBe(clock.now() + SESSION_TTL_MS);
    clock.advance(10 * DAY);
    expect(validateSession(deps, token)?.session.expiresAt).toBe(session.expiresAt);
    clock.advance(6 * DAY);
    const renewed = validateSession(deps, token)!;
    expect(renewed.session.expiresAt).toBe(clock.now() + SESSION_TTL_MS);
    expect(findSession(database.db, session.id)?.expiresAt).toBe(renewed.session.expiresAt);
    clock.advance(SESSION_TTL_MS);
    expect(validateSession(deps, token)).toBeNull();
    expect(findSession(database.db, session.id)).toBeUndefined();
  });

  it("never outlive the absolute limit however active", () => {
    const { token } = createSession(deps, userId);
    let last = null;
    for (let t = 0; t < SESSION_ABSOLUTE_MS; t += 14 * DAY) {
      last = validateSession(deps, token);
      clock.advance(14 * DAY);
    }
    expect(last).not.toBeNull();
    expect(validateSession(deps, token)).toBeNull();
  });

  it("stop validating at once when the user is disabled", () => {
    const { token } = createSession(deps, userId);
    updateUser(database.db, userId, { disabled: true }, clock.now());
    expect(validateSession(deps, token)).toBeNull();
  });

  it("record last-seen at most once a minute", () => {
    const { token, session } = createSession(deps, userId);
    clock.advance(30_000);
    validateSession(deps, token);
    expect(findSession(database.db, session.id)?.lastSeenAt).toBe(session.lastSeenAt);
    clock.advance(31_000);
    validateSession(deps, token);
    expect(findSession(database.db, session.id)?.lastSeenAt).toBe(clock.now());
  });
});

describe("API tokens", () => {
  it("validate, record last use, and stop working for disabled users", () => {
    const { token, row } = createApiToken(deps, userId, "ci");
    expect(row.lastUsedAt).toBeNull();
    const found = validateApiToken(deps, token)!;
    expect(found.user.id).toBe(userId);
    expect(found.token.lastUsedAt).toBe(clock.now());
    expect(
      validateApiToken(
        deps,
        token.replace(/.$/, (ch) => (ch === "a" ? "b" : "a")),
      ),
    ).toBeNull();
    expect(validateApiToken(deps, "bk_nothing")).toBeNull();
    updateUser(database.db, userId, { disabled: true }, clock.now());
    expect(validateApiToken(deps, token)).toBeNull();
  });
});
