/**
 * Alerts, notifications and metrics through the real server and real runs (local folder
 * repository): a failing run raises one alert, a second failure bumps its count, the next
 * success resolves it; each failure reaches a signed webhook (verified here as a receiver would)
 * and an email (smtp-server); the job's ping URL hears start/fail/success; /api/metrics matches
 * the rows; the pages render and acknowledge; another user's alert id is 404.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
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
import { parsePrometheus } from "../helpers/prometheus.ts";
import { startSmtp } from "../helpers/smtp.ts";
import { tempDir } from "../helpers/temp.ts";
import { type ReceivedRequest, startReceiver } from "../helpers/webhook-receiver.ts";

const SECRET = "whsec_a-test-secret-for-signatures";
interface Alert {
  id: string;
  type: string;
  kind: string;
  configId: string | null;
  message: string;
  timestamp: string;
  lastSeen: string | null;
  count: number;
  acknowledged: boolean;
  resolvedAt: string | null;
}
interface Log {
  id: string;
  status: string;
  endTime: string | null;
  duration: number | null;
  bytesTransferred: number;
}

let server: AuthTestServer;
let smtp: Awaited<ReturnType<typeof startSmtp>>;
let hooks: ReturnType<typeof startReceiver>;
let pings: ReturnType<typeof startReceiver>;
let admin: Browser;
let alice: Browser;
const work = tempDir("backapp-alerts-");
const src = join(work.path, "src");
let jobId = "";

/** A receiver's check of X-Backapp-Signature (docs/notifications.md), written independently of src/. */
function signatureValid(req: ReceivedRequest, secret: string): boolean {
  const fields = Object.fromEntries(
    (req.headers["x-backapp-signature"] ?? "")
      .split(",")
      .map((p) => p.trim().split("=", 2) as [string, string]),
  );
  const t = Number(fields.t);
  if (!Number.isInteger(t) || Math.abs(Date.now() / 1000 - t) > 300) return false;
  const expected = createHmac("sha256", secret).update(`${t}.${req.body}`).digest();
  const given = Buffer.from(fields.v1 ?? "", "hex");
  return given.length === expected.length && timingSafeEqual(given, expected);
}

async function until<T>(read: () => T | Promise<T>, ok: (v: T) => boolean, what: string): Promise<T> {
  for (let i = 0; i < 300; i++) {
    const v = await read();
    if (ok(v)) return v;
    await Bun.sleep(100);
  }
  throw new Error(`gave up waiting for ${what}`);
}

async function runToEnd(who: Browser): Promise<Log> {
  const r = await who.api("POST", `/api/backups/execute/${jobId}`);
  expect(r.status).toBe(202);
  const { logId } = r.json<{ logId: string }>();
  return until(
    async () => (await who.api("GET", `/api/backups/${logId}`)).json<Log>(),
    (l) => l.status !== "queued" && l.status !== "running",
    "the run to end",
  );
}

const alertsOf = async (who: Browser, status = "") =>
  (await who.api("GET", `/api/alerts${status ? `?status=${status}` : ""}`)).json<{
    items: Alert[];
    nextCursor: string | null;
  }>();

beforeAll(async () => {
  smtp = await startSmtp({ disabledCommands: ["STARTTLS"] });
  hooks = startReceiver();
  pings = startReceiver();
  server = await startAuthServer();
  admin = await setupAdmin(server);
  alice = await addUser(server, admin, ALICE);
  const mail = { host: "127.0.0.1", port: smtp.port, security: "none", from: "backapp@example.com" };
  expect((await admin.api("PUT", "/api/settings/smtp", mail)).status).toBe(200);
  // The receivers listen on loopback: a self-hosted setup allows private targets.
  expect((await admin.api("PUT", "/api/settings/notifications", { allowPrivateTargets: true })).status).toBe(
    200,
  );
  const channel = (body: Record<string, unknown>) => admin.api("POST", "/api/notifications/channels", body);
  const hook = {
    type: "webhook",
    name: "hook",
    target: `${hooks.url}/in`,
    secret: SECRET,
    events: ["failed_run"],
  };
  expect((await channel(hook)).status).toBe(201);
  const email = { type: "email", name: "mail", target: "ops@example.com", events: ["failed_run"] };
  expect((await channel(email)).status).toBe(201);
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, "a.txt"), "alpha");
  const d = await admin.api("POST", "/api/destinations", {
    type: "local",
    name: "disk",
    path: join(work.path, "repo"),
    password: "a long repository passphrase for tests",
  });
  expect(d.status).toBe(201);
  const j = await admin.api("POST", "/api/configs", {
    name: "Home",
    sources: [{ path: src }],
    destinationId: d.json<{ id: string }>().id,
    schedule: { cronExpression: "", timezone: "UTC" },
    options: { healthcheckUrl: `${pings.url}/ping/abc?rid=1` },
  });
  expect(j.status).toBe(201);
  jobId = j.json<{ id: string }>().id;
}, 180_000);

afterAll(async () => {
  await server.stop();
  await smtp.close();
  hooks.stop();
  pings.stop();
  work.cleanup();
});

describe("alerts from real runs", () => {
  const logs: Log[] = [];

  it("a failing run raises one failed_run alert, notified by signed webhook and email", async () => {
    rmSync(src, { recursive: true });
    const log = await runToEnd(admin);
    logs.push(log);
    expect(log.status).toBe("failed");
    const open = await alertsOf(admin, "open");
    expect(open.items).toHaveLength(1);
    const [alert] = open.items;
    expect(Object.keys(alert!).sort()).toEqual(
      [
        "id",
        "type",
        "kind",
        "configId",
        "message",
        "timestamp",
        "lastSeen",
        "count",
        "acknowledged",
        "resolvedAt",
      ].sort(),
    );
    expect(alert).toMatchObject({
      type: "failure",
      kind: "failed_run",
      configId: jobId,
      count: 1,
      acknowledged: false,
      resolvedAt: null,
    });

    const [delivery] = await until(
      () => hooks.requests,
      (r) => r.length >= 1,
      "the webhook",
    );
    expect(delivery!.headers["x-backapp-event"]).toBe("failed_run");
    expect(signatureValid(delivery!, SECRET)).toBe(true);
    expect(signatureValid({ ...delivery!, body: delivery!.body.replace("failed", "fixed") }, SECRET)).toBe(
      false,
    );
    const payload = JSON.parse(delivery!.body) as { event: string; alert: Alert };
    expect(payload.event).toBe("failed_run");
    expect(payload.alert).toEqual(alert);

    const [mail] = await smtp.waitFor(1);
    expect(mail!.to).toEqual(["ops@example.com"]);
    expect(mail!.text).toContain("Home");
    expect(mail!.html).toContain("Home");
  });

  it("a second failure updates the same alert's count", async () => {
    logs.push(await runToEnd(admin));
    const open = await alertsOf(admin, "open");
    expect(open.items.map((a) => [a.kind, a.count])).toEqual([["failed_run", 2]]);
    expect(Date.parse(open.items[0]!.lastSeen!)).toBeGreaterThan(Date.parse(open.items[0]!.timestamp));
    // The 2nd occurrence notifies again (1, 2, 4, 8…).
    await until(
      () => hooks.requests,
      (r) => r.length >= 2,
      "the second webhook",
    );
    expect(JSON.parse(hooks.requests[1]!.body).alert.count).toBe(2);
  });

  it("the next success resolves it; the ping URL heard start, fail and success", async () => {
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, "a.txt"), "alpha");
    const log = await runToEnd(admin);
    logs.push(log);
    expect(log.status).toBe("completed");
    expect((await alertsOf(admin, "open")).items).toEqual([]);
    const resolved = await alertsOf(admin, "resolved");
    expect(resolved.items.map((a) => a.kind)).toEqual(["failed_run"]);
    expect(resolved.items[0]!.resolvedAt).not.toBeNull();
    const paths = await until(
      () => pings.requests.map((r) => r.path),
      (p) => p.length >= 6,
      "six pings",
    );
    expect([...paths].sort()).toEqual(
      [
        "/ping/abc/start?rid=1",
        "/ping/abc/fail?rid=1",
        "/ping/abc/start?rid=1",
        "/ping/abc/fail?rid=1",
        "/ping/abc/start?rid=1",
        "/ping/abc?rid=1",
      ].sort(),
    );
    expect(pings.requests.find((r) => r.path === "/ping/abc?rid=1")?.body).toContain("completed");
  });

  it("a job's ping URL must be http(s) without credentials", async () => {
    const dest = (await admin.api("GET", "/api/destinations")).json<{ items: { id: string }[] }>().items[0];
    for (const healthcheckUrl of ["ftp://hc.example/x", "https://user:pw@hc.example/x", "not a url"]) {
      const r = await admin.api("POST", "/api/configs", {
        name: "Bad ping",
        sources: [{ path: src }],
        destinationId: dest?.id,
        options: { healthcheckUrl },
      });
      expect(r.status).toBe(400);
      expect(Object.keys(r.json<{ error: { fields: object } }>().error.fields)).toEqual([
        "options.healthcheckUrl",
      ]);
    }
  });

  it("GET /api/metrics matches the rows", async () => {
    const rows = (await admin.api("GET", `/api/backups/logs?configId=${jobId}`)).json<{ items: Log[] }>()
      .items;
    expect(rows).toHaveLength(3);
    const m = (await admin.api("GET", "/api/metrics?period=7d")).json<Record<string, unknown>>();
    expect(Object.keys(m).sort()).toEqual(
      [
        "totalBackups",
        "successRate",
        "averageDuration",
        "totalStorageUsed",
        "lastBackupDate",
        "upcomingBackups",
        "perJob",
      ].sort(),
    );
    const ok = rows.filter((r) => r.status === "completed");
    const mean = rows.reduce((s, r) => s + (r.duration ?? 0), 0) / rows.length;
    expect(m.totalBackups).toBe(3);
    expect(m.successRate).toBe(33.3);
    expect(m.averageDuration).toBe(Math.round(mean));
    expect(m.totalStorageUsed).toBe(ok[0]!.bytesTransferred);
    expect(m.lastBackupDate).toBe(ok[0]!.endTime);
    expect(m.upcomingBackups).toEqual([]);
    expect(m.perJob).toEqual([
      expect.objectContaining({
        configId: jobId,
        name: "Home",
        totalBackups: 3,
        health: "green",
        healthLabel: "Healthy",
      }),
    ]);
    // Alice has nothing; she cannot read the admin's numbers; the admin can read hers.
    const hers = (await alice.api("GET", "/api/metrics?period=30d")).json<Record<string, unknown>>();
    expect(hers).toMatchObject({ totalBackups: 0, successRate: null, perJob: [] });
    const adminId = (await admin.api("GET", "/api/auth/session")).json<{ user: { id: string } }>().user.id;
    expect((await alice.api("GET", `/api/metrics?userId=${adminId}`)).status).toBe(404);
    expect((await admin.api("GET", "/api/metrics?period=1y")).status).toBe(400);
  });

  it("the dashboard shows the job's health in words and charts with text alternatives", async () => {
    const page = await admin.get("/dashboard?period=7d");
    expect(page.status).toBe(200);
    expect(page.text).toContain("Home");
    expect(page.text).toContain("Healthy");
    expect(page.text).toMatch(/<svg[^>]+role="img"/);
    expect(page.text).toContain("<figcaption");
    expect(page.text).toContain("Size added");
    expect((await admin.get("/")).text).toContain("<h1>Dashboard</h1>");
  });

  it("acknowledge: API answers the alert; another user's id is 404; the page acknowledges all", async () => {
    rmSync(src, { recursive: true });
    await runToEnd(admin);
    const [alert] = (await alertsOf(admin, "open")).items;
    expect(alert?.kind).toBe("failed_run");
    expect((await admin.get("/alerts")).text).toMatch(/Alerts <span class="nav-badge">1/);
    expect((await alice.api("PUT", `/api/alerts/${alert!.id}/acknowledge`)).status).toBe(404);
    expect((await alice.api("GET", "/api/alerts")).json()).toEqual({ items: [], nextCursor: null });
    const ack = await admin.api("PUT", `/api/alerts/${alert!.id}/acknowledge`);
    expect(ack.status).toBe(200);
    expect(ack.json<Alert>()).toMatchObject({ id: alert!.id, acknowledged: true, resolvedAt: null });
    expect((await alertsOf(admin, "acknowledged")).items.map((a) => a.id)).toEqual([alert!.id]);
    expect((await alertsOf(admin, "open")).items).toEqual([]);
    expect((await admin.get("/alerts")).text).not.toContain("nav-badge");
    // A new problem on the page, acknowledged with "Acknowledge all".
    await runToEnd(admin); // same ongoing problem: stays acknowledged, count 2
    expect((await alertsOf(admin, "acknowledged")).items[0]?.count).toBe(2);
    const page = await admin.get("/alerts?status=acknowledged");
    expect(page.text).toContain("seen 2 times");
    const all = await admin.form("/alerts/acknowledge-all", {});
    expect(all.status).toBe(303);
    expect((await admin.api("GET", "/api/alerts?status=bogus")).status).toBe(400);
  });

  it("/metrics shows running jobs and queue length live from the runner", async () => {
    const gauges = async () => {
      const f = parsePrometheus((await admin.get("/metrics")).text);
      return [
        f.get("backapp_running_jobs")?.samples[0]?.value,
        f.get("backapp_queue_length")?.samples[0]?.value,
      ];
    };
    expect(await gauges()).toEqual([0, 0]);
    const slow = join(work.path, "slow");
    mkdirSync(slow, { recursive: true });
    writeFileSync(join(slow, "r.bin"), randomBytes(3 * 1024 * 1024));
    const dest = (await admin.api("GET", "/api/destinations")).json<{ items: { id: string }[] }>().items[0];
    const j = await admin.api("POST", "/api/configs", {
      name: "Slow",
      sources: [{ path: slow }],
      destinationId: dest?.id,
      options: { bandwidth: 32 },
    });
    const { logId } = (await admin.api("POST", `/api/backups/execute/${j.json<{ id: string }>().id}`)).json<{
      logId: string;
    }>();
    await until(gauges, (g) => g[0] === 1, "the run to be counted as running");
    expect((await admin.api("POST", `/api/backups/${logId}/cancel`)).status).toBe(200);
    expect(await until(gauges, (g) => g[0] === 0, "the run to end")).toEqual([0, 0]);
  });
});
