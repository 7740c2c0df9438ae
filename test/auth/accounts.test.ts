import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  changePassword,
  ensureSetupToken,
  isRegistrationOpen,
  login,
  register,
  setPassword,
  setRegistrationOpen,
  updateProfile,
} from "../../src/auth/accounts.ts";
import { adminCreateUser, adminUpdateUser, createInvite, inviteSummaries } from "../../src/auth/admin.ts";
import { AuthFailedError, FieldError, ForbiddenError, RateLimitedError } from "../../src/auth/errors.ts";
import { createRateLimiter } from "../../src/auth/rate-limit.ts";
import {
  adminResetLink,
  checkResetToken,
  issueResetToken,
  RESET_TTL_MS,
  requestPasswordReset,
  resetPassword,
} from "../../src/auth/recovery.ts";
import { createSession, validateSession } from "../../src/auth/sessions.ts";
import { listAudit } from "../../src/db/audit.ts";
import { type OpenedDatabase, openDatabase } from "../../src/db/client.ts";
import { EmailTakenError, findUserByEmail } from "../../src/db/users.ts";
import { createManualClock } from "../../src/util/clock.ts";
import { NotFoundError } from "../../src/util/errors.ts";
import { tempDir } from "../helpers/temp.ts";

let dir: ReturnType<typeof tempDir>;
let database: OpenedDatabase;
let clock: ReturnType<typeof createManualClock>;
let deps: { db: OpenedDatabase["db"]; clock: typeof clock; limiter: ReturnType<typeof createRateLimiter> };
const ctx = { ip: "10.0.0.1" };
const PW = "purple staple 42 lantern";

beforeEach(() => {
  dir = tempDir();
  database = openDatabase(dir.path);
  clock = createManualClock(Date.parse("2026-03-01T00:00:00Z"));
  deps = { db: database.db, clock, limiter: createRateLimiter(clock) };
});
afterEach(() => {
  database.close();
  dir.cleanup();
});

async function firstAdmin() {
  return register(
    deps,
    { email: "root@example.com", name: "Root", password: PW, setupToken: ensureSetupToken(deps)! },
    ctx,
  );
}

describe("first run", () => {
  it("keeps one setup token until the first account exists, then deletes it", async () => {
    const token = ensureSetupToken(deps);
    expect(token).toMatch(/^[a-z2-7]{32}$/);
    expect(ensureSetupToken(deps)).toBe(token);
    await expect(register(deps, { email: "x@example.com", name: "X", password: PW }, ctx)).rejects.toThrow(
      ForbiddenError,
    );
    await expect(
      register(deps, { email: "x@example.com", name: "X", password: PW, setupToken: "wrong" }, ctx),
    ).rejects.toThrow(/setup token/);
    const admin = await firstAdmin();
    expect(admin.role).toBe("admin");
    expect(ensureSetupToken(deps)).toBeNull();
    expect(listAudit(database.db).map((a) => a.action)).toContain("user.register");
  });

  it("a CLI-created first account also ends setup", async () => {
    ensureSetupToken(deps);
    await adminCreateUser(deps, { email: "cli@example.com", name: "Cli", password: PW, role: "admin" }, ctx);
    expect(ensureSetupToken(deps)).toBeNull();
  });
});

describe("registration", () => {
  it("is closed after the first account unless opened or invited", async () => {
    await firstAdmin();
    expect(isRegistrationOpen(database.db)).toBe(false);
    await expect(register(deps, { email: "a@example.com", name: "A", password: PW }, ctx)).rejects.toThrow(
      ForbiddenError,
    );
    setRegistrationOpen(deps, true, ctx);
    const a = await register(deps, { email: "A@Example.com", name: "A", password: PW }, ctx);
    expect(a).toMatchObject({ role: "user", email: "a@example.com" });
    await expect(register(deps, { email: "a@example.com", name: "A2", password: PW }, ctx)).rejects.toThrow(
      EmailTakenError,
    );
  });

  it("invites are single use, expire, and carry their role", async () => {
    const admin = await firstAdmin();
    const actor = { id: admin.id, email: admin.email };
    const inv = createInvite(deps, { role: "admin", expiresInHours: 1 }, { ...ctx, actor });
    const u = await register(
      deps,
      { email: "inv@example.com", name: "I", password: PW, invite: inv.token },
      ctx,
    );
    expect(u.role).toBe("admin");
    await expect(
      register(deps, { email: "again@example.com", name: "I", password: PW, invite: inv.token }, ctx),
    ).rejects.toThrow(/invalid, used or expired/);
    const old = createInvite(deps, { role: "user", expiresInHours: 1 }, { ...ctx, actor });
    clock.advance(3600_000);
    await expect(
      register(deps, { email: "late@example.com", name: "L", password: PW, invite: old.token }, ctx),
    ).rejects.toThrow(ForbiddenError);
    await expect(
      register(deps, { email: "bad@example.com", name: "B", password: PW, invite: "nonsense" }, ctx),
    ).rejects.toThrow(ForbiddenError);
    expect(
      inviteSummaries(deps)
        .map((i) => i.status)
        .sort(),
    ).toEqual(["expired", "used"]);
  });
});

describe("login", () => {
  it("accepts the right password and gives the same answer for unknown accounts and wrong passwords", async () => {
    await firstAdmin();
    expect((await login(deps, { email: " ROOT@example.com", password: PW }, ctx)).email).toBe(
      "root@example.com",
    );
    const wrong = await login(deps, { email: "root@example.com", password: "nope" }, ctx).catch(
      (e: Error) => e,
    );
    const unknown = await login(deps, { email: "ghost@example.com", password: "nope" }, ctx).catch(
      (e: Error) => e,
    );
    expect(wrong).toBeInstanceOf(AuthFailedError);
    expect(unknown).toBeInstanceOf(AuthFailedError);
    expect((wrong as Error).message).toBe((unknown as Error).message);
    const actions = listAudit(database.db).map((a) => a.action);
    expect(actions.filter((a) => a === "login.failed")).toHaveLength(2);
    expect(actions).toContain("login.ok");
  });

  it("limits failures per account across IPs", async () => {
    await firstAdmin();
    for (let i = 0; i < 11; i++) {
      await login(deps, { email: "root@example.com", password: "wrong" }, { ip: `10.0.1.${i}` }).catch(
        () => undefined,
      );
    }
    await expect(
      login(deps, { email: "root@example.com", password: PW }, { ip: "10.0.2.1" }),
    ).rejects.toThrow(RateLimitedError);
    clock.advance(61_000);
    expect((await login(deps, { email: "root@example.com", password: PW }, { ip: "10.0.2.1" })).role).toBe(
      "admin",
    );
  });

  it("a new password (e.g. `backapp user reset-password`) lifts an account lock-out at once", async () => {
    const admin = await firstAdmin();
    for (let i = 0; i < 11; i++) {
      await login(deps, { email: "root@example.com", password: "wrong" }, { ip: `10.0.3.${i}` }).catch(
        () => undefined,
      );
    }
    await expect(
      login(deps, { email: "root@example.com", password: PW }, { ip: "10.0.4.1" }),
    ).rejects.toThrow(RateLimitedError);
    await setPassword(deps, admin, "a fresh recovery passphrase");
    const back = await login(
      deps,
      { email: "root@example.com", password: "a fresh recovery passphrase" },
      { ip: "10.0.4.1" },
    );
    expect(back.id).toBe(admin.id);
  });

  it("blocks unknown addresses exactly like known ones", async () => {
    await firstAdmin();
    const outcomes: string[] = [];
    for (const email of ["root@example.com", "ghost@example.com"]) {
      for (let i = 0; i < 11; i++) {
        const r = await login(deps, { email, password: "wrong" }, { ip: `10.0.5.${i}` }).catch(
          (e: Error) => e.constructor.name,
        );
        outcomes.push(`${email.split("@")[0]}:${String(r)}`);
      }
    }
    const known = outcomes.slice(0, 11).map((o) => o.split(":")[1]);
    const unknown = outcomes.slice(11).map((o) => o.split(":")[1]);
    expect(unknown).toEqual(known);
    expect(known.at(-1)).toBe("RateLimitedError");
  });

  it("refuses disabled accounts", async () => {
    const admin = await firstAdmin();
    const u = await adminCreateUser(
      deps,
      { email: "d@example.com", name: "D", password: PW, role: "user" },
      ctx,
    );
    adminUpdateUser(deps, u.id, { disabled: true }, { ...ctx, actor: admin });
    await expect(login(deps, { email: "d@example.com", password: PW }, ctx)).rejects.toThrow(/disabled/);
  });
});

describe("password and profile changes", () => {
  it("a password change needs the current password, follows the policy and ends every session", async () => {
    const admin = await firstAdmin();
    const s = createSession(deps, admin.id);
    await expect(
      changePassword(deps, admin, { currentPassword: "wrong", newPassword: "another long secret" }, ctx),
    ).rejects.toThrow(/current password/);
    await expect(
      changePassword(deps, admin, { currentPassword: PW, newPassword: "root@example.com" }, ctx),
    ).rejects.toThrow(FieldError);
    await changePassword(deps, admin, { currentPassword: PW, newPassword: "another long secret" }, ctx);
    expect(validateSession(deps, s.token)).toBeNull();
    expect((await login(deps, { email: admin.email, password: "another long secret" }, ctx)).id).toBe(
      admin.id,
    );
  });

  it("changing the email needs the current password", async () => {
    const admin = await firstAdmin();
    await expect(updateProfile(deps, admin, { name: "R", email: "new@example.com" }, ctx)).rejects.toThrow(
      /current password/,
    );
    const renamed = await updateProfile(deps, admin, { name: "Renamed", email: admin.email }, ctx);
    expect(renamed.name).toBe("Renamed");
    const pending = issueResetToken(deps, renamed);
    await updateProfile(deps, renamed, { name: "Renamed again", email: admin.email }, ctx);
    expect(checkResetToken(deps, pending)?.id).toBe(admin.id);
    const moved = await updateProfile(
      deps,
      renamed,
      { name: "Renamed", email: "new@example.com", currentPassword: PW },
      ctx,
    );
    expect(moved.email).toBe("new@example.com");
    // A reset link mailed to the old address dies with it.
    expect(checkResetToken(deps, pending)).toBeNull();
  });
});

describe("password reset", () => {
  it("issues a one-hour single-use token that ends all sessions", async () => {
    const admin = await firstAdmin();
    const s = createSession(deps, admin.id);
    expect(requestPasswordReset(deps, "ghost@example.com", ctx)).toBeNull();
    const issued = requestPasswordReset(deps, "Root@example.com", ctx)!;
    expect(checkResetToken(deps, issued.token)?.id).toBe(admin.id);
    await expect(resetPassword(deps, { token: issued.token, password: "short" }, ctx)).rejects.toThrow(
      FieldError,
    );
    await resetPassword(deps, { token: issued.token, password: "a brand new secret" }, ctx);
    expect(validateSession(deps, s.token)).toBeNull();
    await expect(
      resetPassword(deps, { token: issued.token, password: "yet another secret" }, ctx),
    ).rejects.toThrow(/invalid, used or expired/);
    expect((await login(deps, { email: admin.email, password: "a brand new secret" }, ctx)).id).toBe(
      admin.id,
    );
  });

  it("expires after an hour and a newer token voids the older one", async () => {
    const admin = await firstAdmin();
    const first = adminResetLink(deps, admin.id, ctx)!;
    const second = adminResetLink(deps, admin.id, ctx)!;
    expect(checkResetToken(deps, first.token)).toBeNull();
    expect(checkResetToken(deps, second.token)).not.toBeNull();
    clock.advance(RESET_TTL_MS);
    expect(checkResetToken(deps, second.token)).toBeNull();
    expect(adminResetLink(deps, "missing", ctx)).toBeNull();
    expect(checkResetToken(deps, "garbage")).toBeNull();
  });

  it("is rate limited per address", async () => {
    await firstAdmin();
    for (let i = 0; i < 10; i++) requestPasswordReset(deps, "root@example.com", { ip: `10.9.0.${i}` });
    expect(() => requestPasswordReset(deps, "root@example.com", { ip: "10.9.1.1" })).toThrow(
      RateLimitedError,
    );
  });
});

describe("admin actions", () => {
  it("the last admin can be neither demoted nor disabled; disabling ends sessions", async () => {
    const admin = await firstAdmin();
    const actx = { ...ctx, actor: admin };
    expect(() => adminUpdateUser(deps, admin.id, { role: "user" }, actx)).toThrow(ForbiddenError);
    expect(() => adminUpdateUser(deps, admin.id, { disabled: true }, actx)).toThrow(/last administrator/);
    expect(() => adminUpdateUser(deps, "missing", { role: "user" }, actx)).toThrow(NotFoundError);
    const u = await adminCreateUser(
      deps,
      { email: "u@example.com", name: "U", password: PW, role: "user" },
      actx,
    );
    const s = createSession(deps, u.id);
    const updated = adminUpdateUser(
      deps,
      u.id,
      { disabled: true, allowedRoots: ["/a", "/a", "/b"], name: "New" },
      actx,
    );
    expect(updated).toMatchObject({ disabled: true, name: "New", allowedRoots: '["/a","/b"]' });
    expect(validateSession(deps, s.token)).toBeNull();
    adminUpdateUser(deps, u.id, { role: "admin", disabled: false }, actx);
    expect(adminUpdateUser(deps, admin.id, { role: "user" }, actx).role).toBe("user");
    expect(findUserByEmail(database.db, "u@example.com")?.role).toBe("admin");
  });
});
