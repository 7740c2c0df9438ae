/**
 * GET /metrics through the real server: the Prometheus text format (parsed strictly), values
 * from the tables that exist today, loopback-only by default (proxied requests refused), and a
 * metrics token when the admin switches to token mode.
 */
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ALICE,
  type AuthTestServer,
  addUser,
  Browser,
  setupAdmin,
  startAuthServer,
} from "../helpers/auth-server.ts";
import { parsePrometheus } from "../helpers/prometheus.ts";

let server: AuthTestServer;
let admin: Browser;
let alice: Browser;
const T0 = Date.UTC(2026, 10, 30, 2, 0);

function seed(dataDir: string, userId: string) {
  const db = new Database(join(dataDir, "backapp.db"));
  try {
    db.run(
      "INSERT INTO destinations (id, user_id, name, kind, settings) VALUES ('d1', ?, 'NAS', 'local', '{}')",
      [userId],
    );
    const config = db.prepare(
      "INSERT INTO backup_configs (id, user_id, destination_id, name, sources, schedule, options) VALUES (?, ?, 'd1', ?, '[]', '{}', '{}')",
    );
    config.run("c1", userId, 'Home "docs"');
    config.run("c2", userId, "Photos");
    const log = db.prepare(
      "INSERT INTO backup_logs (id, config_id, user_id, status, start_time, end_time, duration_ms, bytes_transferred) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    );
    log.run("l1", "c1", userId, "completed", T0, T0 + 60_000, 60_000, 1000);
    log.run("l2", "c1", userId, "failed", T0 + 86_400_000, T0 + 86_430_000, 30_000, 10);
    log.run("l3", "c1", userId, "completed", T0 + 2 * 86_400_000, T0 + 2 * 86_400_000 + 90_000, 90_000, 500);
    log.run("l4", "c2", userId, "failed", T0, T0 + 5_000, 5_000, 0);
    const alert = db.prepare(
      "INSERT INTO alerts (id, user_id, config_id, type, kind, message, timestamp, resolved_at, acknowledged) VALUES (?, ?, ?, ?, ?, 'm', ?, ?, ?)",
    );
    alert.run("a1", userId, "c2", "failure", "failed_run", T0, null, 0);
    alert.run("a2", userId, "c1", "failure", "failed_run", T0, T0 + 1, 0);
    alert.run("a3", userId, "c1", "warning", "unreadable_files", T0, null, 1);
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  server = await startAuthServer();
  admin = await setupAdmin(server);
  alice = await addUser(server, admin, ALICE);
  const me = (await admin.get("/api/profile")).json<{ user: { id: string } }>();
  seed(server.dataDir, me.user.id);
});
afterAll(async () => {
  await server.stop();
});

const value = (f: ReturnType<typeof parsePrometheus>, name: string, labels: Record<string, string>) =>
  f.get(name)?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

describe("/metrics", () => {
  it("serves the Prometheus text format with what the database knows", async () => {
    const r = await new Browser(server.url).get("/metrics");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const f = parsePrometheus(r.text);
    expect(f.get("backapp_info")?.type).toBe("gauge");
    expect(value(f, "backapp_users", { role: "admin", disabled: "false" })).toBe(1);
    expect(value(f, "backapp_users", { role: "user", disabled: "false" })).toBe(1);
    expect(value(f, "backapp_runs", { job_id: "c1", job: 'Home "docs"', status: "completed" })).toBe(2);
    expect(value(f, "backapp_runs", { job_id: "c1", status: "failed" })).toBe(1);
    expect(value(f, "backapp_runs", { job_id: "c2", job: "Photos", status: "failed" })).toBe(1);
    expect(value(f, "backapp_bytes_added", { job_id: "c1", status: "completed" })).toBe(1500);
    expect(value(f, "backapp_last_success_timestamp_seconds", { job_id: "c1" })).toBe(
      (T0 + 2 * 86_400_000 + 90_000) / 1000,
    );
    expect(value(f, "backapp_last_success_timestamp_seconds", { job_id: "c2" })).toBeUndefined();
    expect(value(f, "backapp_last_run_duration_seconds", { job_id: "c1" })).toBe(90);
    expect(value(f, "backapp_last_run_duration_seconds", { job_id: "c2" })).toBe(5);
    expect(
      value(f, "backapp_alerts_open", { type: "failure", kind: "failed_run", acknowledged: "false" }),
    ).toBe(1);
    expect(value(f, "backapp_alerts_open", { kind: "unreadable_files", acknowledged: "true" })).toBe(1);
  });

  it("is loopback-only by default: a proxied request is refused", async () => {
    const proxied = await new Browser(server.url).get("/metrics", { "x-forwarded-for": "203.0.113.9" });
    expect(proxied.status).toBe(404);
    expect((await new Browser(server.url).get("/metrics", { forwarded: "for=203.0.113.9" })).status).toBe(
      404,
    );
  });

  it("needs the metrics token in token mode; only admins change the mode or make a token", async () => {
    expect((await alice.api("PUT", "/api/settings/metrics", { mode: "token" })).status).toBe(404);
    expect((await alice.api("POST", "/api/settings/metrics/token")).status).toBe(404);
    expect((await admin.api("PUT", "/api/settings/metrics", { mode: "sometimes" })).status).toBe(400);
    const set = await admin.api("PUT", "/api/settings/metrics", { mode: "token" });
    expect(set.json()).toEqual({ mode: "token", tokenSet: false });
    const anon = new Browser(server.url);
    expect((await anon.get("/metrics")).status).toBe(401);
    const { token } = (await admin.api("POST", "/api/settings/metrics/token")).json<{ token: string }>();
    expect((await admin.get("/api/settings/metrics")).text).not.toContain(token);
    expect((await anon.get("/metrics", { authorization: "Bearer wrong" })).status).toBe(401);
    const ok = await anon.get("/metrics", {
      authorization: `Bearer ${token}`,
      "x-forwarded-for": "203.0.113.9",
    });
    expect(ok.status).toBe(200);
    expect(parsePrometheus(ok.text).has("backapp_runs")).toBe(true);
    // The metrics token opens nothing else.
    expect((await anon.get("/api/notifications/channels", { authorization: `Bearer ${token}` })).status).toBe(
      401,
    );
    const page = await admin.form("/admin/settings/metrics", { mode: "loopback" });
    expect(page.status).toBe(303);
    expect((await anon.get("/metrics")).status).toBe(200);
  });
});
