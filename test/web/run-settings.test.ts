/**
 * The runner's settings (runs at once, missed-run grace, prune interval) read and changed by an
 * admin through /api/settings/runs and the Runs form on /admin/settings; stored under the keys
 * the job service reads at each use.
 */
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ALICE,
  type AuthTestServer,
  addUser,
  type Browser,
  setupAdmin,
  startAuthServer,
} from "../helpers/auth-server.ts";

let server: AuthTestServer;
let admin: Browser;
let alice: Browser;

beforeAll(async () => {
  server = await startAuthServer();
  admin = await setupAdmin(server);
  alice = await addUser(server, admin, ALICE);
});
afterAll(async () => {
  await server.stop();
});

function storedSetting(key: string): unknown {
  const db = new Database(join(server.dataDir, "backapp.db"), { readonly: true });
  try {
    const row = db.query("SELECT value FROM settings WHERE key = ?").get(key) as { value: string } | null;
    return row ? JSON.parse(row.value) : undefined;
  } finally {
    db.close();
  }
}

describe("run settings", () => {
  it("read as the defaults at first", async () => {
    const r = await admin.get("/api/settings/runs");
    expect(r.status).toBe(200);
    expect(r.json()).toEqual({ concurrency: 2, missedRunGraceMinutes: 60, pruneEveryHours: 168 });
  });

  it("are saved through the API, read back, stored in ms and audited", async () => {
    const input = { concurrency: 4, missedRunGraceMinutes: 90, pruneEveryHours: 24 };
    const r = await admin.api("PUT", "/api/settings/runs", input);
    expect(r.status).toBe(200);
    expect(r.json()).toEqual(input);
    expect((await admin.get("/api/settings/runs")).json()).toEqual(input);
    expect(storedSetting("jobs.concurrency")).toBe(4);
    expect(storedSetting("jobs.missedRunGraceMs")).toBe(90 * 60_000);
    expect(storedSetting("jobs.pruneEveryMs")).toBe(24 * 3_600_000);
    expect((await admin.get("/api/audit")).text).toContain("settings.runs");
  });

  it("refuse out-of-range values with one error per field", async () => {
    const r = await admin.api("PUT", "/api/settings/runs", {
      concurrency: 0,
      missedRunGraceMinutes: 7 * 24 * 60 + 1,
      pruneEveryHours: 1.5,
    });
    expect(r.status).toBe(400);
    const body = r.json<{ error: { status: number; fields: Record<string, string> } }>();
    expect(body.error.status).toBe(400);
    expect(Object.keys(body.error.fields).sort()).toEqual([
      "concurrency",
      "missedRunGraceMinutes",
      "pruneEveryHours",
    ]);
    const missing = await admin.api("PUT", "/api/settings/runs", { concurrency: "17" });
    expect(missing.status).toBe(400);
    expect((await admin.get("/api/settings/runs")).json()).toMatchObject({ concurrency: 4 });
  });

  it("render on the settings page and save from the form", async () => {
    const page = await admin.get("/admin/settings");
    expect(page.status).toBe(200);
    expect(page.text).toContain('action="/admin/settings/runs"');
    expect(page.text).toMatch(/name="concurrency"[^>]*value="4"/);
    const saved = await admin.form("/admin/settings/runs", {
      concurrency: "3",
      missedRunGraceMinutes: "0",
      pruneEveryHours: "0",
    });
    expect(saved.status).toBe(303);
    expect(saved.headers.get("location")).toBe("/admin/settings?notice=runs-saved");
    expect((await admin.get("/api/settings/runs")).json()).toEqual({
      concurrency: 3,
      missedRunGraceMinutes: 0,
      pruneEveryHours: 0,
    });
  });

  it("re-render the form with field errors and the entered values", async () => {
    const page = await admin.form("/admin/settings/runs", {
      concurrency: "99",
      missedRunGraceMinutes: "",
      pruneEveryHours: "5",
    });
    expect(page.status).toBe(400);
    expect(page.text).toContain("Enter a whole number from 1 to 16.");
    expect(page.text).toContain("Enter minutes from 0 to 10080");
    expect(page.text).toMatch(/name="concurrency"[^>]*value="99"/);
    expect((await admin.get("/api/settings/runs")).json()).toMatchObject({ concurrency: 3 });
  });

  it("are hidden from non-admins", async () => {
    expect((await alice.get("/api/settings/runs")).status).toBe(404);
    const put = await alice.api("PUT", "/api/settings/runs", {
      concurrency: 8,
      missedRunGraceMinutes: 1,
      pruneEveryHours: 1,
    });
    expect(put.status).toBe(404);
    expect((await alice.form("/admin/settings/runs", { concurrency: "8" })).status).toBe(404);
    expect((await admin.get("/api/settings/runs")).json()).toMatchObject({ concurrency: 3 });
  });
});
