/** `backapp setup-token` and `backapp user add|reset-password`, also while the server runs. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, type AuthTestServer, Browser, startAuthServer } from "../helpers/auth-server.ts";
import { runBackapp } from "../helpers/cli.ts";
import { tempDir } from "../helpers/temp.ts";

let server: AuthTestServer;

beforeAll(async () => {
  server = await startAuthServer();
});
afterAll(async () => {
  await server.stop();
});

const dataDir = () => ["--data-dir", server.dataDir];

describe("backapp setup-token", () => {
  it("prints the same token the running server logged", async () => {
    const r = await runBackapp(["setup-token", ...dataDir()]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(server.setupToken());
  });

  it("creates a token for a fresh data dir (env BACKAPP_DATA_DIR) and keeps it", async () => {
    const d = tempDir();
    try {
      const a = await runBackapp(["setup-token"], { env: { BACKAPP_DATA_DIR: d.path } });
      const b = await runBackapp(["setup-token", "--data-dir", d.path]);
      expect(a.code).toBe(0);
      expect(a.stdout).toMatch(/^[a-z2-7]{32}\n$/);
      expect(b.stdout).toBe(a.stdout);
    } finally {
      d.cleanup();
    }
  });

  it("rejects stray arguments", async () => {
    const r = await runBackapp(["setup-token", "extra", ...dataDir()]);
    expect(r.code).toBe(2);
  });
});

describe("backapp user", () => {
  it("adds the first account as admin while the server runs (as a separate process), ending setup", async () => {
    const r = await runBackapp(["user", "add", "--email", ADMIN.email, "--name", ADMIN.name, ...dataDir()], {
      env: { BACKAPP_NEW_PASSWORD: ADMIN.password },
      process: true,
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^added admin admin@example\.com \(id [a-z2-7]{32}\)\n$/);
    const b = new Browser(server.url);
    await b.login(ADMIN.email, ADMIN.password);
    expect((await b.get("/api/auth/session")).json()).toMatchObject({ user: { role: "admin" } });
    const done = await runBackapp(["setup-token", ...dataDir()]);
    expect(done.code).toBe(1);
    expect(done.stderr).toMatch(/setup is complete/);
    expect((await new Browser(server.url).get("/setup")).headers.get("location")).toBe("/login");
  });

  it("adds users and admins, refusing duplicates and weak passwords", async () => {
    const env = { BACKAPP_NEW_PASSWORD: "user's long secret" };
    const u = await runBackapp(["user", "add", "--email", "u@example.com", "--name", "U", ...dataDir()], {
      env,
    });
    expect(u.stdout).toMatch(/^added user u@example\.com/);
    const a = await runBackapp(
      ["user", "add", "--email", "a2@example.com", "--name", "A2", "--admin", ...dataDir()],
      { env },
    );
    expect(a.stdout).toMatch(/^added admin a2@example\.com/);
    const dup = await runBackapp(["user", "add", "--email", "U@example.com", "--name", "U", ...dataDir()], {
      env,
    });
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(/already exists/);
    const weak = await runBackapp(["user", "add", "--email", "w@example.com", "--name", "W", ...dataDir()], {
      env: { BACKAPP_NEW_PASSWORD: "short" },
    });
    expect(weak.code).toBe(1);
    expect(weak.stderr).toMatch(/password: Use at least 12 characters/);
    const badEmail = await runBackapp(["user", "add", "--email", "nope", "--name", "W", ...dataDir()], {
      env,
    });
    expect(badEmail.stderr).toMatch(/email: Enter a valid email address/);
  });

  it("reset-password sets a new password and ends every session", async () => {
    const b = new Browser(server.url);
    await b.login(ADMIN.email, ADMIN.password);
    const r = await runBackapp(["user", "reset-password", "--email", ADMIN.email, ...dataDir()], {
      env: { BACKAPP_NEW_PASSWORD: "recovered long secret" },
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/sessions ended/);
    expect((await b.get("/api/auth/session")).status).toBe(401);
    await new Browser(server.url).login(ADMIN.email, "recovered long secret");
    const weak = await runBackapp(["user", "reset-password", "--email", ADMIN.email, ...dataDir()], {
      env: { BACKAPP_NEW_PASSWORD: ADMIN.email },
    });
    expect(weak.code).toBe(1);
    const ghost = await runBackapp(["user", "reset-password", "--email", "ghost@example.com", ...dataDir()], {
      env: { BACKAPP_NEW_PASSWORD: "recovered long secret" },
    });
    expect(ghost.code).toBe(1);
    expect(ghost.stderr).toMatch(/no account with email ghost@example.com/);
  });

  it("explains usage mistakes with exit code 2", async () => {
    const env = { BACKAPP_NEW_PASSWORD: "whatever long secret" };
    const cases: [string[], RegExp][] = [
      [["user"], /missing subcommand/],
      [["user", "remove", "--email", "x@example.com"], /unknown subcommand "remove"/],
      [["user", "add", "--name", "N"], /--email is required/],
      [["user", "add", "--email", "x@example.com"], /--name is required/],
      [["user", "add", "--email", "x@example.com", "--name", "N", "extra"], /unexpected argument/],
      [["user", "add", "--bogus"], /unknown flag --bogus/],
    ];
    for (const [args, message] of cases) {
      const r = await runBackapp([...args, ...dataDir()], { env });
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toContain("Usage: backapp user add");
    }
  });

  it("asks for BACKAPP_NEW_PASSWORD when stdin is not a terminal", async () => {
    const r = await runBackapp(["user", "add", "--email", "x@example.com", "--name", "X", ...dataDir()], {
      env: { BACKAPP_NEW_PASSWORD: undefined },
      process: true,
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/set BACKAPP_NEW_PASSWORD/);
  });

  it("reset-password checks the account and the data dir before asking for a password", async () => {
    const noEnv = { env: { BACKAPP_NEW_PASSWORD: undefined } };
    const ghost = await runBackapp(
      ["user", "reset-password", "--email", "ghost@example.com", ...dataDir()],
      noEnv,
    );
    expect(ghost.code).toBe(1);
    expect(ghost.stderr).toMatch(/no account with email ghost@example.com/);
    const d = tempDir();
    try {
      const missing = join(d.path, "nothing-here");
      const r = await runBackapp(
        ["user", "reset-password", "--email", ADMIN.email, "--data-dir", missing],
        noEnv,
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/no backapp database in .*nothing-here; check --data-dir/);
      expect(existsSync(missing)).toBe(false);
    } finally {
      d.cleanup();
    }
  });
});
